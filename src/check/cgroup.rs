//! cgroup v2 and its delegation to the user (cgroups(7), "Cgroups v2 delegation").
//!
//! hutch sets no cgroup limits yet. The limits planned (memory, pids, cpu; DESIGN.md) will need
//! a cgroup v2 hierarchy with those controllers, and a cgroup of the user's own: one whose directory, `cgroup.procs` and `cgroup.subtree_control`
//! belong to the user, as systemd makes them for `Delegate=yes` units and everything below
//! `user@UID.service`. Where the hierarchy is mounted comes from `/proc/self/mountinfo` (unified:
//! /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified), the process's cgroup from
//! `/proc/self/cgroup` (the `0::PATH` line).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Check;

/// The controllers hutch's planned limits will use.
const WANTED: &[&str] = &["cpu", "memory", "pids"];

const NO_V2_FIX: &str = "boot with `systemd.unified_cgroup_hierarchy=1` (or without cgroup v1 \
                         controllers); hutch sets no cgroup limits yet, and the planned ones \
                         (memory, pids, cpu) will need cgroup v2";

/// A cgroup2 mount: where it is, and which cgroup of the hierarchy it shows there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup2Mount {
    pub mount_point: PathBuf,
    pub root: String,
}

/// The cgroup2 mount in a mountinfo text, preferring the unified location /sys/fs/cgroup.
pub fn find_cgroup2(mountinfo: &str) -> Option<Cgroup2Mount> {
    let mut mounts = mountinfo.lines().filter_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split(' ').next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = before.split(' ').collect();
        Some(Cgroup2Mount {
            root: unescape(fields.get(3)?),
            mount_point: PathBuf::from(unescape(fields.get(4)?)),
        })
    });
    let first = mounts.next()?;
    if first.mount_point == Path::new("/sys/fs/cgroup") {
        return Some(first);
    }
    Some(
        mounts
            .find(|m| m.mount_point == Path::new("/sys/fs/cgroup"))
            .unwrap_or(first),
    )
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|_| bytes[i] == b'\\')
            .and_then(|o| std::str::from_utf8(o).ok())
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The process's cgroup v2 path from a `/proc/PID/cgroup` text.
pub fn own_cgroup(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| path.trim_end_matches(" (deleted)"))
}

fn controllers(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn missing(controllers: &[String]) -> Vec<&'static str> {
    WANTED
        .iter()
        .copied()
        .filter(|w| !controllers.iter().any(|c| c == w))
        .collect()
}

fn read_mount(proc_self: &Path) -> Option<Cgroup2Mount> {
    find_cgroup2(&std::fs::read_to_string(proc_self.join("mountinfo")).ok()?)
}

/// `cgroup.v2`: mounted, and holding the controllers hutch's limits use.
pub fn v2(proc_self: &Path) -> Check {
    const ID: &str = "cgroup.v2";
    let Some(mount) = read_mount(proc_self) else {
        return Check::warn(ID, "cgroup v2 is not mounted (cgroup v1 only)", NO_V2_FIX);
    };
    let layout = if mount.mount_point == Path::new("/sys/fs/cgroup") {
        "unified"
    } else {
        "hybrid: cgroup v1 holds the rest"
    };
    let available = controllers(&mount.mount_point);
    let at = format!("cgroup v2 at {} ({layout})", mount.mount_point.display());
    match missing(&available)[..] {
        [] => Check::ok(ID, format!("{at}; controllers: {}", available.join(" "))),
        ref absent => Check::warn(
            ID,
            format!("{at}, without the {} controller(s)", absent.join(", ")),
            NO_V2_FIX,
        ),
    }
}

/// Whether `path` belongs to `uid` and is writable by its owner.
fn owned(path: &Path, uid: u32) -> Result<bool, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(meta.uid() == uid && meta.mode() & 0o200 != 0)
}

/// `cgroup.delegation`: the process's own cgroup belongs to the user.
pub fn delegation(proc_self: &Path, uid: u32) -> Check {
    const ID: &str = "cgroup.delegation";
    let fix = "start hutch in a cgroup of your own: `systemd-run --user --scope -p Delegate=yes \
               hutch ...` in a systemd user session, or `Delegate=yes` in the unit that starts \
               it; hutch sets no cgroup limits yet, and the planned ones (memory, pids, cpu) \
               will need one";
    let Some(mount) = read_mount(proc_self) else {
        return Check::warn(ID, "no cgroup v2 hierarchy to delegate", NO_V2_FIX);
    };
    let proc_cgroup = std::fs::read_to_string(proc_self.join("cgroup")).unwrap_or_default();
    let Some(path) = own_cgroup(&proc_cgroup) else {
        return Check::warn(
            ID,
            "this process is in no cgroup v2 (no `0::` line in /proc/self/cgroup)",
            NO_V2_FIX,
        );
    };
    let relative = Path::new(path)
        .strip_prefix(&mount.root)
        .unwrap_or(Path::new(path));
    let dir = if relative.as_os_str().is_empty() {
        mount.mount_point.clone()
    } else {
        mount.mount_point.join(relative)
    };
    let files = [
        dir.clone(),
        dir.join("cgroup.procs"),
        dir.join("cgroup.subtree_control"),
    ];
    let mut not_owned = Vec::new();
    for file in &files {
        match owned(file, uid) {
            Ok(true) => {}
            Ok(false) => not_owned.push(file.display().to_string()),
            Err(e) => {
                return Check::warn(ID, format!("cannot inspect your cgroup: {e}"), fix);
            }
        }
    }
    if !not_owned.is_empty() {
        return Check::warn(
            ID,
            format!(
                "your cgroup {path} is not delegated to you ({} not yours to write)",
                not_owned.join(", ")
            ),
            fix,
        );
    }
    let available = controllers(&dir);
    match missing(&available)[..] {
        [] => Check::ok(
            ID,
            format!(
                "your cgroup {path} is yours; controllers: {}",
                available.join(" ")
            ),
        ),
        ref absent => Check::warn(
            ID,
            format!(
                "your cgroup {path} is yours, but without the {} controller(s)",
                absent.join(", ")
            ),
            "have systemd delegate them: `sudo systemctl edit user@.service`, add `[Service]` \
             and `Delegate=cpu memory pids`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{testing::FakeHost, Status};
    use super::*;

    const HYBRID: &str = "\
35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
37 35 0:32 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory
";

    #[test]
    fn finds_the_cgroup2_mount() {
        let unified = "29 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            find_cgroup2(unified).unwrap().mount_point,
            Path::new("/sys/fs/cgroup")
        );
        assert_eq!(
            find_cgroup2(HYBRID).unwrap().mount_point,
            Path::new("/sys/fs/cgroup/unified")
        );
        assert_eq!(find_cgroup2("1 0 0:1 / / rw - ext4 /dev/sda rw\n"), None);
        let escaped = "1 0 0:1 /a\\040b /my\\040cg rw - cgroup2 none rw\n";
        let m = find_cgroup2(escaped).unwrap();
        assert_eq!((m.root.as_str(), m.mount_point), ("/a b", "/my cg".into()));
    }

    #[test]
    fn reads_the_own_cgroup() {
        assert_eq!(
            own_cgroup("12:pids:/x\n0::/user.slice/user-1000.slice/session-2.scope\n"),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(own_cgroup("4:memory:/x\n"), None);
    }

    /// A fake host whose cgroup2 is mounted at `<root>/cgroup`, this process in `/user/app`.
    fn host_with_cgroup(controllers: &str) -> (FakeHost, PathBuf) {
        let host = FakeHost::new();
        let mount = host.path().join("cgroup");
        host.write(
            "proc/self/mountinfo",
            &format!("29 1 0:26 / {} rw - cgroup2 cgroup2 rw\n", mount.display()),
        );
        host.write("proc/self/cgroup", "0::/user/app\n");
        host.write("cgroup/cgroup.controllers", controllers);
        for file in [
            "cgroup.controllers",
            "cgroup.procs",
            "cgroup.subtree_control",
        ] {
            host.write(&format!("cgroup/user/app/{file}"), controllers);
        }
        (host, mount)
    }

    fn my_uid() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn v2_with_and_without_controllers() {
        let (host, _) = host_with_cgroup("cpuset cpu io memory pids\n");
        let check = v2(&host.paths.proc_self);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.found.contains("hybrid"), "{check:?}");
        let (host, _) = host_with_cgroup("\n");
        let check = v2(&host.paths.proc_self);
        assert_eq!(check.status, Status::Warn);
        assert!(
            check.found.contains("without the cpu, memory, pids"),
            "{check:?}"
        );
        let none = FakeHost::new();
        assert_eq!(v2(&none.paths.proc_self).status, Status::Warn);
    }

    #[test]
    fn delegated_when_the_cgroup_is_the_users() {
        let (host, _) = host_with_cgroup("cpu memory pids\n");
        let check = delegation(&host.paths.proc_self, my_uid());
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.found.contains("/user/app is yours"), "{check:?}");
    }

    #[test]
    fn not_delegated_names_systemd_run() {
        let (host, _) = host_with_cgroup("cpu memory pids\n");
        let check = delegation(&host.paths.proc_self, my_uid() + 1);
        assert_eq!(check.status, Status::Warn);
        assert!(check.found.contains("not delegated"), "{check:?}");
        let fix = check.fix.unwrap();
        assert!(fix.contains("systemd-run --user --scope") && fix.contains("Delegate=yes"));
        // No flag that does not exist yet is promised.
        assert!(
            fix.contains("no cgroup limits yet") && !fix.contains("--memory"),
            "{fix}"
        );
    }

    #[test]
    fn delegated_without_controllers_is_a_warning() {
        let (host, _) = host_with_cgroup("cpu\n");
        let check = delegation(&host.paths.proc_self, my_uid());
        assert_eq!(check.status, Status::Warn);
        assert!(check.found.contains("memory, pids"), "{check:?}");
    }
}
