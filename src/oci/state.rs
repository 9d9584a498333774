//! Where hutch-oci keeps what it knows about each container: `ROOT/ID/` (0700) with
//! `state.json` (the init's pid and its start time, the bundle, the hooks still to run), a
//! copy of the bundle's `config.json` (for `exec`), and `exec.fifo` while the container is
//! created but not started.
//!
//! Nothing here is believed blindly: the status is worked out again at every command from the
//! process itself (alive, and with the start time recorded, so a recycled pid is not taken for
//! the container) and from the fifo. After a SIGKILL of `create`, of `start`, of the container
//! or of the engine, `state` tells the truth and `delete` cleans up. state.json is replaced
//! atomically (a temporary file renamed over it), so it is always whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::config::HookPlan;
use crate::state::StateError;
use crate::sys;

/// The runtime-spec version hutch-oci implements.
pub const OCI_VERSION: &str = "1.2.0";
const STATE_FILE: &str = "state.json";
const FIFO: &str = "exec.fifo";
pub const CONFIG_COPY: &str = "config.json";
/// Larger state files are refused rather than read.
const STATE_LIMIT: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OciStateError {
    #[error("invalid container id {id:?}: use letters, digits, `_`, `-`, `.` and `+`, not starting with `.`")]
    BadId { id: String },
    #[error("container {id:?} does not exist")]
    NotFound { id: String },
    #[error("container with id {id:?} already exists")]
    Exists { id: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is damaged", path.display())]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl OciStateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            OciStateError::State(e) => e.hint(),
            OciStateError::Damaged { .. } => {
                Some("`hutch-oci delete --force ID` removes what is left of the container".into())
            }
            _ => None,
        }
    }
}

/// The status of a container, as the runtime-spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
        }
    }
}

/// What state.json holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    pub pid: i32,
    /// The init's start time (clock ticks since boot), which with the pid names the process.
    pub pid_start_time: u64,
    /// RFC 3339, UTC.
    pub created: String,
    pub annotations: BTreeMap<String, String>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
    /// Set by `create` once the container is fully made; a record without it is a `create`
    /// that was interrupted.
    #[serde(default)]
    pub complete: bool,
    /// The container's cgroup (linux.cgroupsPath), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<PathBuf>,
    /// Whether `create` made that cgroup (and `delete` removes it).
    #[serde(default)]
    pub cgroup_made: bool,
}

/// The state root (`--root`) and one container's directory in it.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub dir: PathBuf,
}

/// Check an id: it becomes a directory name under the root.
pub fn valid_id(id: &str) -> Result<(), OciStateError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(OciStateError::BadId { id: id.to_owned() })
    }
}

/// The state root, made (0700) if missing and checked to be the user's alone.
pub fn open_root(root: &Path) -> Result<(), OciStateError> {
    if let Some(parent) = root.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|source| OciStateError::Io {
                    what: "create",
                    path: parent.to_owned(),
                    source,
                })?;
        }
    }
    crate::state::private_dir(root, true)?;
    Ok(())
}

use std::os::unix::fs::DirBuilderExt;

impl Container {
    pub fn at(root: &Path, id: &str) -> Result<Container, OciStateError> {
        valid_id(id)?;
        Ok(Container {
            id: id.to_owned(),
            dir: root.join(id),
        })
    }

    /// Make the container's directory; an existing one means the id is taken.
    pub fn make(&self) -> Result<(), OciStateError> {
        match std::fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(OciStateError::Exists {
                id: self.id.clone(),
            }),
            Err(source) => Err(OciStateError::Io {
                what: "create",
                path: self.dir.clone(),
                source,
            }),
        }
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join(FIFO)
    }

    pub fn config_copy(&self) -> PathBuf {
        self.dir.join(CONFIG_COPY)
    }

    /// The record, or `NotFound` when the container does not exist.
    pub fn load(&self) -> Result<Record, OciStateError> {
        let path = self.dir.join(STATE_FILE);
        if !self.dir.exists() {
            return Err(OciStateError::NotFound {
                id: self.id.clone(),
            });
        }
        let bytes = crate::state::read_private_file(&path, STATE_LIMIT)?.ok_or_else(|| {
            OciStateError::NotFound {
                id: self.id.clone(),
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| OciStateError::Damaged { path, source })
    }

    /// Replace state.json atomically.
    pub fn save(&self, record: &Record) -> Result<(), OciStateError> {
        let path = self.dir.join(STATE_FILE);
        let temporary = self.dir.join(".state.json.new");
        let io = |what, source| OciStateError::Io {
            what,
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(record).expect("a record serialises");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)
            .map_err(|e| io("write", e))?;
        file.write_all(&bytes).map_err(|e| io("write", e))?;
        std::fs::rename(&temporary, &path).map_err(|e| io("replace", e))
    }

    /// The container's status now: from its init process and the fifo, not from the record
    /// alone.
    pub fn status(&self, record: &Record) -> Status {
        if !alive(record) {
            return Status::Stopped;
        }
        if !record.complete {
            return Status::Creating;
        }
        if self.fifo().exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// Remove the container's directory and everything in it.
    pub fn remove(&self) -> Result<(), OciStateError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(OciStateError::Io {
                what: "remove",
                path: self.dir.clone(),
                source,
            }),
        }
    }
}

/// Whether the record's init is the process running under its pid.
pub fn alive(record: &Record) -> bool {
    record.pid > 0
        && sys::process_start_time(Pid::from_raw(record.pid)) == Some(record.pid_start_time)
        && !zombie(record.pid)
}

/// A process that has exited but is not reaped yet (its parent, the engine, has not waited):
/// stopped, for the runtime-spec.
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 2..];
            after.split(' ').next().map(|s| s == "Z" || s == "X")
        })
        .unwrap_or(false)
}

/// The OCI state document (`hutch-oci state`, and hooks' standard input).
pub fn document(record: &Record, status: Status) -> serde_json::Value {
    let pid = match status {
        Status::Stopped => 0,
        _ => record.pid,
    };
    serde_json::json!({
        "ociVersion": OCI_VERSION,
        "id": record.id,
        "status": status.name(),
        "pid": pid,
        "bundle": record.bundle,
        "created": record.created,
        "annotations": record.annotations,
    })
}

/// Now, in RFC 3339 (UTC, nanoseconds), as runc writes `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_nanos())
}

/// The image store's RFC 3339 with the nanoseconds runc writes.
fn rfc3339(secs: u64, nanos: u32) -> String {
    let whole = crate::image::store::rfc3339(secs);
    let seconds = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{seconds}.{nanos:09}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_names_not_paths() {
        for good in ["abc", "a.b-c_d+1", "0123456789abcdef"] {
            assert!(valid_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", ".hidden", "a b"] {
            assert!(valid_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_798_761_599, 0), "2026-12-31T23:59:59.000000000Z");
    }

    #[test]
    fn a_dead_pid_is_stopped() {
        let record = Record {
            id: "x".into(),
            bundle: "/b".into(),
            pid: i32::MAX,
            pid_start_time: 1,
            created: String::new(),
            annotations: BTreeMap::new(),
            poststart: vec![],
            poststop: vec![],
            complete: true,
            cgroup: None,
            cgroup_made: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let container = Container {
            id: "x".into(),
            dir: dir.path().into(),
        };
        assert_eq!(container.status(&record), Status::Stopped);
        assert_eq!(document(&record, Status::Stopped)["pid"], 0);
    }
}
