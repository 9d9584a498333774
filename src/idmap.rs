//! User and group id mapping of the sandbox's user namespace (user_namespaces(7)).
//!
//! Without subordinate id ranges, an unprivileged process may map exactly one id: its own. The
//! sandbox's first process writes that single-line map for itself, which needs no helper
//! process and no round trip to the launcher. `setgroups` must be denied first, or the kernel
//! refuses an unprivileged gid_map (it would let the process drop groups used to deny access).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::diagnose;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    pub host_uid: u32,
    pub host_gid: u32,
    /// Map the user to uid/gid 0 inside (`--map-root`) instead of to itself.
    pub map_root: bool,
}

impl IdMapping {
    pub fn inside_uid(&self) -> u32 {
        if self.map_root {
            0
        } else {
            self.host_uid
        }
    }

    pub fn inside_gid(&self) -> u32 {
        if self.map_root {
            0
        } else {
            self.host_gid
        }
    }

    /// The `uid_map` contents: `inside outside count`.
    pub fn render_uid_map(&self) -> String {
        format!("{} {} 1\n", self.inside_uid(), self.host_uid)
    }

    pub fn render_gid_map(&self) -> String {
        format!("{} {} 1\n", self.inside_gid(), self.host_gid)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {} ({contents:?})", path.display())]
pub struct IdMapError {
    pub path: PathBuf,
    pub contents: String,
    #[source]
    pub source: std::io::Error,
}

impl IdMapError {
    pub fn hint(&self, proc_sys: &Path) -> Option<String> {
        match self.source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => Some(diagnose::userns_hint(proc_sys)),
            _ => None,
        }
    }
}

/// Write this process's own id maps; `proc_self` is `/proc/self` outside tests.
pub fn write_own_maps(mapping: &IdMapping, proc_self: &Path) -> Result<(), IdMapError> {
    write(&proc_self.join("setgroups"), "deny")?;
    write(&proc_self.join("uid_map"), &mapping.render_uid_map())?;
    write(&proc_self.join("gid_map"), &mapping.render_gid_map())
}

fn write(path: &Path, contents: &str) -> Result<(), IdMapError> {
    // The kernel wants each map in a single write(2).
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|source| IdMapError {
            path: path.to_owned(),
            contents: contents.to_owned(),
            source,
        })
}

/// One line of a map: `count` ids from `inside` in the namespace are `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapEntry {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// A uid or gid map of several lines, as newuidmap(1)/newgidmap(1) write it for a user with
/// subordinate ranges (see [`crate::subid`], which builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    pub entries: Vec<IdMapEntry>,
}

impl IdMap {
    /// How many ids from 0 inside are mapped without a gap (every map hutch builds is one run).
    pub fn count(&self) -> u64 {
        self.entries.iter().map(|e| u64::from(e.count)).sum()
    }

    /// newuidmap's and newgidmap's arguments: `PID INSIDE OUTSIDE COUNT...`.
    pub fn render_for_newuidmap(&self, pid: i32) -> Vec<String> {
        std::iter::once(pid.to_string())
            .chain(self.entries.iter().flat_map(|e| {
                [e.inside, e.outside, e.count]
                    .into_iter()
                    .map(|n| n.to_string())
            }))
            .collect()
    }
}

/// newuidmap or newgidmap could not write a map.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("cannot run {}", tool.display())]
    Spawn {
        tool: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{} {}` failed ({status}){}", tool.display(), args.join(" "),
        if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        tool: PathBuf,
        args: Vec<String>,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

impl HelperError {
    pub fn hint(&self) -> Option<String> {
        Some(
            "newuidmap and newgidmap must be setuid root (or carry CAP_SETUID/CAP_SETGID) and \
             agree with /etc/subuid and /etc/subgid; run `hutch check`"
                .into(),
        )
    }
}

/// Map the ids of the user namespace of process `pid` from outside, with the setuid helpers
/// (`tool` is newuidmap or newgidmap, by absolute path). The child must not have written its
/// own maps: each map can be written once.
pub fn apply_with_helper(tool: &Path, map: &IdMap, pid: i32) -> Result<(), HelperError> {
    let args = map.render_for_newuidmap(pid);
    tracing::debug!(tool = %tool.display(), args = args.join(" "), "id map");
    let out = std::process::Command::new(tool)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| HelperError::Spawn {
            tool: tool.to_owned(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(HelperError::Failed {
        tool: tool.to_owned(),
        args,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_user_to_itself_or_to_root() {
        let own = IdMapping {
            host_uid: 1000,
            host_gid: 100,
            map_root: false,
        };
        assert_eq!(own.render_uid_map(), "1000 1000 1\n");
        assert_eq!(own.render_gid_map(), "100 100 1\n");
        let root = IdMapping {
            map_root: true,
            ..own
        };
        assert_eq!(root.render_uid_map(), "0 1000 1\n");
        assert_eq!(root.render_gid_map(), "0 100 1\n");
    }

    #[test]
    fn writes_setgroups_before_the_maps() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["setgroups", "uid_map", "gid_map"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        write_own_maps(
            &IdMapping {
                host_uid: 5,
                host_gid: 6,
                map_root: true,
            },
            dir.path(),
        )
        .unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert_eq!(read("setgroups"), "deny");
        assert_eq!(read("uid_map"), "0 5 1\n");
        assert_eq!(read("gid_map"), "0 6 1\n");
    }

    #[test]
    fn helper_failures_carry_the_arguments_and_stderr() {
        let map = IdMap {
            entries: vec![IdMapEntry {
                inside: 0,
                outside: 1000,
                count: 1,
            }],
        };
        assert_eq!(map.render_for_newuidmap(9), ["9", "0", "1000", "1"]);
        let err = apply_with_helper(Path::new("/bin/false"), &map, 9).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`/bin/false 9 0 1000 1` failed"),
            "{err}"
        );
        let err = apply_with_helper(Path::new("/nonexistent/newuidmap"), &map, 9).unwrap_err();
        assert!(matches!(err, HelperError::Spawn { .. }), "{err}");
    }

    #[test]
    fn failure_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_own_maps(
            &IdMapping {
                host_uid: 5,
                host_gid: 6,
                map_root: false,
            },
            dir.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("setgroups"), "{err}");
    }
}
