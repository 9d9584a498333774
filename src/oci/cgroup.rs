//! The container's cgroup (cgroup v2): where `linux.cgroupsPath` puts it, making it with the
//! controllers its limits need enabled down the way, writing the limits (see `resources`), and
//! removing it at `delete`. The init is born in it (clone3 CLONE_INTO_CGROUP, as `hutch run`'s
//! sandboxes are: `crate::cgroup`), and `exec`'s processes join it.
//!
//! `linux.cgroupsPath` is a path in the cgroup v2 hierarchy (`/a/b`; a relative one is taken
//! under the caller's own cgroup), or with `--systemd-cgroup` systemd's `SLICE:PREFIX:NAME`,
//! which names the scope `PREFIX-NAME.scope` in the slice (`a-b.slice` is `a.slice/a-b.slice`),
//! in the system manager's tree for root and the user manager's
//! (`/user.slice/user-UID.slice/user@UID.service`) for anyone else. hutch-oci makes that
//! cgroup itself rather than asking systemd over D-Bus for a transient scope: it can where the
//! tree is the caller's, which a user manager's is (it is delegated to them).
//!
//! Where cgroup v2 cannot be used (no unified hierarchy, or the path is not the caller's to
//! write), limits that change something fail `create` naming the field and the reason; a
//! container without such limits runs without a cgroup of its own, with a warning.

use std::path::{Path, PathBuf};

use super::config::ConfigError;
use super::resources::Write;
use crate::cgroup::{self, Cgroup2Mount};

/// Where the facts about this process's cgroup are read: the seam for tests.
#[derive(Debug, Clone)]
pub struct Host {
    pub mountinfo: PathBuf,
    pub proc_cgroup: PathBuf,
    /// The effective uid as the host sees it: rootless podman runs the runtime as root of a
    /// user namespace of its own, and its cgroups are still the user's (their user manager's).
    pub euid: u32,
}

impl Host {
    pub fn current() -> Host {
        let euid = nix::unistd::geteuid().as_raw();
        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        Host {
            mountinfo: "/proc/self/mountinfo".into(),
            proc_cgroup: "/proc/self/cgroup".into(),
            euid: outside_id(&uid_map, euid).unwrap_or(euid),
        }
    }
}

/// The id `id` of this user namespace is in the parent namespace (one level up), by `uid_map`.
pub fn outside_id(uid_map: &str, id: u32) -> Option<u32> {
    uid_map.lines().find_map(|line| {
        let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
        let (inside, outside, count) = (fields.next()??, fields.next()??, fields.next()??);
        let id = u64::from(id);
        (inside <= id && id < inside + count)
            .then(|| u32::try_from(outside + (id - inside)).ok())
            .flatten()
    })
}

/// What `create` asks of the container's cgroup.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub cgroups_path: Option<&'a str>,
    pub systemd: bool,
    pub writes: &'a [Write],
}

/// The cgroup a container got, ready to be cloned into.
#[derive(Debug)]
pub struct Placed {
    pub path: PathBuf,
    /// The cgroup's directory, for clone3(CLONE_INTO_CGROUP).
    pub dir: std::os::fd::OwnedFd,
    /// Whether hutch-oci made the directory (and `delete` removes it).
    pub made: bool,
}

/// Expand systemd's `SLICE:PREFIX:NAME` to a path under the manager's tree.
pub fn systemd_path(spec: &str, euid: u32) -> Result<String, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(format!(
            "{spec:?} is not SLICE:PREFIX:NAME (systemd's form, given --systemd-cgroup)"
        ));
    };
    let bad = |s: &str| s.contains('/') || s == "." || s == "..";
    if bad(slice) || bad(prefix) || bad(name) || name.is_empty() {
        return Err(format!("{spec:?}: a slice, prefix and name without `/`"));
    }
    let slice = match slice {
        "" if euid == 0 => "system.slice",
        "" => "user.slice",
        s => s,
    };
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("{slice:?} is not a slice (NAME.slice)"));
    };
    let mut path = String::new();
    if stem != "-" {
        // systemd.slice(5): each dash in a slice's name is a level of the tree.
        let mut so_far = String::new();
        for part in stem.split('-') {
            if part.is_empty() {
                return Err(format!("{slice:?}: an empty part between dashes"));
            }
            if !so_far.is_empty() {
                so_far.push('-');
            }
            so_far.push_str(part);
            path.push_str(&format!("/{so_far}.slice"));
        }
    }
    let unit = match (prefix, name.ends_with(".slice")) {
        (_, true) => name.to_owned(),
        ("", false) => format!("{name}.scope"),
        (p, false) => format!("{p}-{name}.scope"),
    };
    let manager = if euid == 0 {
        String::new()
    } else {
        format!("/user.slice/user-{euid}.slice/user@{euid}.service")
    };
    Ok(format!("{manager}{path}/{unit}"))
}

/// The cgroup `request` names, in the hierarchy (a path from its root); None without one.
pub fn cgroup_name(request: &Request<'_>, own: &str, euid: u32) -> Result<Option<String>, String> {
    let Some(path) = request.cgroups_path.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if request.systemd && !path.starts_with('/') {
        return systemd_path(path, euid).map(Some);
    }
    if Path::new(path)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("{path:?} leads out with `..`"));
    }
    Ok(Some(if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", own.trim_end_matches('/'))
    }))
}

/// Why the container gets no cgroup of its own: an error naming the first limit that changes
/// something, or (when none does) a warning.
fn without_cgroup(writes: &[Write], why: String) -> Result<Option<Placed>, (ConfigError, bool)> {
    match writes.iter().find(|w| w.changes_something()) {
        Some(w) => Err((ConfigError::unsupported(w.field.clone(), why), true)),
        None => Err((
            ConfigError::Invalid {
                field: "linux.cgroupsPath".into(),
                why: format!("no cgroup is made: {why}"),
            },
            false,
        )),
    }
}

/// Make (or reuse) the container's cgroup and write its limits. `Ok(None)`: no cgroup was
/// asked for or needed; `Err((e, true))` fails `create`; `Err((e, false))` is a warning.
pub fn place(host: &Host, request: &Request<'_>) -> Result<Option<Placed>, (ConfigError, bool)> {
    let mountinfo = std::fs::read_to_string(&host.mountinfo).unwrap_or_default();
    let mount = cgroup::find_cgroup2(&mountinfo)
        .filter(|m| !cgroup::controllers(&m.mount_point).is_empty());
    let Some(mount) = mount else {
        if request.cgroups_path.is_none_or(str::is_empty)
            && !request.writes.iter().any(Write::changes_something)
        {
            return Ok(None);
        }
        return without_cgroup(
            request.writes,
            "limits need the unified cgroup v2 hierarchy, and this host has none with \
             controllers (cgroup v1, or a hybrid tree)"
                .into(),
        );
    };
    let proc_cgroup = std::fs::read_to_string(&host.proc_cgroup).unwrap_or_default();
    let own = cgroup::own_cgroup(&proc_cgroup).unwrap_or("/").to_owned();
    let name = cgroup_name(request, &own, host.euid)
        .map_err(|why| (ConfigError::invalid("linux.cgroupsPath", why), true))?;
    let Some(name) = name else {
        if !request.writes.iter().any(Write::changes_something) {
            return Ok(None);
        }
        return without_cgroup(
            request.writes,
            "limits need a cgroup, and linux.cgroupsPath names none (podman: \
             --cgroup-parent, or the systemd cgroup manager)"
                .into(),
        );
    };
    let path = cgroup::directory(&mount, &name);
    if !path.starts_with(&mount.mount_point) || path == mount.mount_point {
        return Err((
            ConfigError::invalid(
                "linux.cgroupsPath",
                format!("{name:?} is not below the root"),
            ),
            true,
        ));
    }
    let mut needed: Vec<&str> = request.writes.iter().map(Write::controller).collect();
    needed.sort_unstable();
    needed.dedup();
    if populated(&path) {
        // runc's rule too: `delete` kills what is in the container's cgroup.
        return Err((
            ConfigError::invalid(
                "linux.cgroupsPath",
                format!("{} holds processes already", path.display()),
            ),
            true,
        ));
    }
    match make(&mount, &path, &needed) {
        Ok(made) => {
            let placed = open(&path, made).and_then(|placed| {
                for w in request.writes {
                    cgroup::write_file(&path.join(&w.file), &w.value).map_err(|e| {
                        ConfigError::invalid(&w.field, crate::error::render(&e, None))
                    })?;
                }
                Ok(placed)
            });
            placed.map(Some).map_err(|e| {
                if made {
                    let _ = std::fs::remove_dir(&path);
                }
                (e, true)
            })
        }
        Err(why) => without_cgroup(request.writes, why),
    }
}

fn populated(path: &Path) -> bool {
    std::fs::read_to_string(path.join("cgroup.events"))
        .is_ok_and(|events| events.lines().any(|l| l == "populated 1"))
}

fn open(path: &Path, made: bool) -> Result<Placed, ConfigError> {
    let dir = std::fs::File::open(path).map_err(|e| {
        ConfigError::invalid(
            "linux.cgroupsPath",
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    Ok(Placed {
        path: path.to_owned(),
        dir: dir.into(),
        made,
    })
}

/// mkdir the cgroup at `path` and the ones above it that are missing, enabling `needed` in the
/// `cgroup.subtree_control` of each one above it that lacks them. True if it was made.
fn make(mount: &Cgroup2Mount, path: &Path, needed: &[&str]) -> Result<bool, String> {
    let relative = path.strip_prefix(&mount.mount_point).unwrap_or(path);
    let mut dir = mount.mount_point.clone();
    let mut made = false;
    for component in relative.components() {
        let available = cgroup::controllers(&dir);
        let control = dir.join("cgroup.subtree_control");
        let enabled = std::fs::read_to_string(&control).unwrap_or_default();
        for controller in needed {
            if enabled.split_whitespace().any(|c| c == *controller) {
                continue;
            }
            if !available.iter().any(|c| c == controller) {
                return Err(format!(
                    "the {controller} controller is not available in {} (not delegated to \
                     you, or not enabled above it)",
                    dir.display()
                ));
            }
            cgroup::write_file(&control, &format!("+{controller}")).map_err(|e| {
                // EBUSY, or EOPNOTSUPP for a cgroup that holds processes and is not a valid
                // domain (cgroup_vet_subtree_control_enable).
                let busy = matches!(&e, cgroup::CgroupError::Io { source, .. }
                    if matches!(source.raw_os_error(), Some(libc::EBUSY | libc::EOPNOTSUPP)));
                format!(
                    "cannot enable the {controller} controller for the cgroups under {}: {}{}",
                    dir.display(),
                    crate::error::render(&e, None),
                    if busy {
                        " (it holds processes, or is threaded: cgroup v2 puts limits on \
                         leaves only; name a cgroup below one that holds none)"
                    } else {
                        ""
                    }
                )
            })?;
        }
        dir.push(component);
        match std::fs::create_dir(&dir) {
            Ok(()) => made = true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => made = false,
            Err(e) => return Err(format!("cannot create the cgroup {}: {e}", dir.display())),
        }
    }
    Ok(made)
}

/// Remove the container's cgroup: everything in it killed (cgroup.kill), then rmdir.
pub fn remove(path: &Path) {
    cgroup::remove(path);
}

/// SIGKILL everything in the cgroup at `path` (cgroup.kill).
pub fn kill(path: &Path) {
    cgroup::kill(path);
}

/// The pids in the cgroup at `path` (cgroup.procs).
pub fn pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_names_become_paths() {
        assert_eq!(
            systemd_path("user.slice:libpod:abc", 1000).unwrap(),
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-abc.scope"
        );
        assert_eq!(
            systemd_path("kubepods-burstable-pod1.slice:cri-containerd:c1", 0).unwrap(),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/\
             cri-containerd-c1.scope"
        );
        assert_eq!(
            systemd_path(":runc:x", 0).unwrap(),
            "/system.slice/runc-x.scope"
        );
        assert_eq!(systemd_path("-.slice::x.slice", 0).unwrap(), "/x.slice");
        for bad in [
            "a:b",
            "a.slice:b:c:d",
            "x:p:n",
            "a--b.slice:p:n",
            "a.slice:p:../n",
        ] {
            assert!(systemd_path(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn root_of_a_rootless_engines_namespace_is_the_user() {
        let podman = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(outside_id(podman, 0), Some(1000));
        assert_eq!(outside_id(podman, 5), Some(100004));
        assert_eq!(outside_id("0 0 4294967295\n", 0), Some(0));
        assert_eq!(outside_id("0 1000 1\n", 7), None);
    }

    #[test]
    fn cgroupfs_paths_are_absolute_or_under_the_callers_cgroup() {
        let request = |path, systemd| Request {
            cgroups_path: Some(path),
            systemd,
            writes: &[],
        };
        assert_eq!(
            cgroup_name(&request("/a/b", false), "/own", 1000).unwrap(),
            Some("/a/b".into())
        );
        assert_eq!(
            cgroup_name(&request("a/b", false), "/own", 1000).unwrap(),
            Some("/own/a/b".into())
        );
        assert_eq!(
            cgroup_name(&request("/a/b", true), "/own", 1000).unwrap(),
            Some("/a/b".into())
        );
        assert!(cgroup_name(&request("/a/../../b", false), "/", 0).is_err());
        assert_eq!(
            cgroup_name(&request("", false), "/own", 1000).unwrap(),
            None
        );
    }

    /// A fake hierarchy: `mount` with a cgroup2 line for `root`, controllers everywhere.
    fn fake_tree(root: &Path, own: &str) -> Host {
        std::fs::write(
            root.join("mountinfo"),
            format!(
                "30 1 0:26 / {} rw - cgroup2 cgroup2 rw\n",
                root.join("cg").display()
            ),
        )
        .unwrap();
        std::fs::create_dir(root.join("cg")).unwrap();
        std::fs::write(root.join("cg/cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(root.join("cgroup"), format!("0::{own}\n")).unwrap();
        Host {
            mountinfo: root.join("mountinfo"),
            proc_cgroup: root.join("cgroup"),
            euid: 1000,
        }
    }

    #[test]
    fn limits_are_written_to_the_named_cgroup() {
        let dir = tempfile::tempdir().unwrap();
        let host = fake_tree(dir.path(), "/own");
        // A real cgroupfs makes the interface files; the fake needs them made.
        let writes = [Write {
            file: "pids.max".into(),
            value: "32".into(),
            field: "linux.resources.pids.limit".into(),
        }];
        let cg = dir.path().join("cg");
        std::fs::write(cg.join("cgroup.subtree_control"), "").unwrap();
        std::fs::create_dir(cg.join("a")).unwrap();
        std::fs::write(cg.join("a/cgroup.controllers"), "pids\n").unwrap();
        std::fs::write(cg.join("a/cgroup.subtree_control"), "pids\n").unwrap();
        std::fs::create_dir(cg.join("a/c")).unwrap();
        std::fs::write(cg.join("a/c/pids.max"), "").unwrap();
        let request = Request {
            cgroups_path: Some("/a/c"),
            systemd: false,
            writes: &writes,
        };
        let placed = place(&host, &request).unwrap().unwrap();
        assert_eq!(placed.path, cg.join("a/c"));
        assert!(!placed.made, "it existed");
        assert_eq!(
            std::fs::read_to_string(cg.join("a/c/pids.max")).unwrap(),
            "32"
        );
        // The controller was enabled at the root (the fake's file takes the write as it is).
        assert_eq!(
            std::fs::read_to_string(cg.join("cgroup.subtree_control")).unwrap(),
            "+pids"
        );
    }

    #[test]
    fn a_cgroup_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let host = fake_tree(dir.path(), "/own");
        let cg = dir.path().join("cg");
        std::fs::create_dir(cg.join("busy")).unwrap();
        std::fs::write(cg.join("busy/cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let request = Request {
            cgroups_path: Some("/busy"),
            systemd: false,
            writes: &[],
        };
        let (e, fatal) = place(&host, &request).unwrap_err();
        assert!(fatal);
        assert!(e.to_string().contains("holds processes already"), "{e}");
    }

    #[test]
    fn without_cgroup_v2_limits_fail_and_no_ops_warn() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mountinfo"), "").unwrap();
        std::fs::write(dir.path().join("cgroup"), "0::/\n").unwrap();
        let host = Host {
            mountinfo: dir.path().join("mountinfo"),
            proc_cgroup: dir.path().join("cgroup"),
            euid: 1000,
        };
        let limit = [Write {
            file: "memory.max".into(),
            value: "100".into(),
            field: "linux.resources.memory.limit".into(),
        }];
        let no_op = [Write {
            file: "cpu.weight".into(),
            value: "100".into(),
            field: "linux.resources.cpu.shares".into(),
        }];
        let request = |writes, path| Request {
            cgroups_path: path,
            systemd: false,
            writes,
        };
        let (e, fatal) = place(&host, &request(&limit, None)).unwrap_err();
        assert!(fatal);
        assert!(
            e.to_string()
                .contains("`linux.resources.memory.limit` is not supported by hutch-oci: limits need the unified cgroup v2"),
            "{e}"
        );
        assert!(place(&host, &request(&no_op, None)).unwrap().is_none());
        let (e, fatal) = place(&host, &request(&no_op, Some("/x"))).unwrap_err();
        assert!(!fatal, "{e}");
        assert!(e.to_string().contains("linux.cgroupsPath"), "{e}");
    }
}
