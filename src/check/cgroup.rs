//! cgroup v2 and its delegation to the user (cgroups(7), "Cgroups v2 delegation"): what the
//! limit flags (`--memory`, `--pids`, `--cpus`, `--cpu-weight`, `--io-weight`; see
//! `crate::cgroup`) can use on this host. They need the unified hierarchy with those
//! controllers, and a cgroup of the user's own: one whose directory, `cgroup.procs` and
//! `cgroup.subtree_control` belong to the user, as systemd makes them for `Delegate=yes` units
//! and everything below `user@UID.service`. Where the hierarchy is mounted comes from
//! `/proc/self/mountinfo` (unified: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified), the
//! process's cgroup from `/proc/self/cgroup` (the `0::PATH` line).

use std::path::Path;

use super::Check;
use crate::cgroup::{controllers, directory, owned, DROP_IN, LAUNCHER};
pub use crate::cgroup::{find_cgroup2, own_cgroup, Cgroup2Mount};

/// The controllers hutch's limits use.
const WANTED: &[&str] = &["cpu", "io", "memory", "pids"];

const NO_V2_FIX: &str = "boot with `systemd.unified_cgroup_hierarchy=1` (or without cgroup v1 \
                         controllers): --memory, --pids, --cpus, --cpu-weight and --io-weight \
                         need cgroup v2";

fn drop_in_fix() -> String {
    format!(
        "have systemd delegate them: create {DROP_IN} with `[Service]` and `Delegate=cpu cpuset \
         io memory pids`, then `sudo systemctl daemon-reload` and log in again"
    )
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

/// The usable controllers of `dir`: those of hutch's that it holds.
fn usable(dir: &Path) -> (Vec<String>, Vec<&'static str>) {
    let available = controllers(dir);
    let absent = missing(&available);
    let usable = WANTED
        .iter()
        .filter(|w| !absent.contains(w))
        .map(|w| (*w).to_owned())
        .collect();
    (usable, absent)
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

/// `cgroup.delegation`: a cgroup of the user's own, now or through a systemd scope, and the
/// limit controllers it holds.
pub fn delegation(proc_self: &Path, uid: u32) -> Check {
    const ID: &str = "cgroup.delegation";
    let fix = "run hutch in a systemd user session (it then asks for a scope of its own with \
               `systemd-run --user --scope -p Delegate=yes`), or in a unit with Delegate=yes; \
               the limit flags need a delegated cgroup";
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
    let mut dir = directory(&mount, path);
    if dir.file_name().is_some_and(|n| n == LAUNCHER) {
        dir.pop();
    }
    let is_yours = |dir: &Path| -> Result<Vec<String>, String> {
        let mut not_owned = Vec::new();
        for file in [
            dir.to_owned(),
            dir.join("cgroup.procs"),
            dir.join("cgroup.subtree_control"),
        ] {
            match owned(&file, uid) {
                Ok(true) => {}
                Ok(false) => not_owned.push(file.display().to_string()),
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
        }
        Ok(not_owned)
    };
    let (whose, usable_dir) = match is_yours(&dir) {
        Ok(not_owned) if not_owned.is_empty() => (format!("your cgroup {path} is yours"), dir),
        Ok(not_owned) => {
            // A login session's scope: hutch asks the user's systemd for a scope, which gets
            // what the user manager was delegated.
            let manager = directory(
                &mount,
                &format!("/user.slice/user-{uid}.slice/user@{uid}.service"),
            );
            if !matches!(is_yours(&manager), Ok(n) if n.is_empty()) {
                return Check::warn(
                    ID,
                    format!(
                        "your cgroup {path} is not delegated to you ({} not yours to write), and \
                         no systemd user manager's is",
                        not_owned.join(", ")
                    ),
                    fix,
                );
            }
            (
                format!(
                    "your cgroup {path} is not yours; hutch asks your systemd for a delegated \
                     scope (systemd-run --user --scope)"
                ),
                manager,
            )
        }
        Err(e) => return Check::warn(ID, format!("cannot inspect your cgroup: {e}"), fix),
    };
    match usable(&usable_dir) {
        (usable, absent) if absent.is_empty() => {
            Check::ok(ID, format!("{whose}; limits can use: {}", usable.join(" ")))
        }
        (usable, absent) => Check::warn(
            ID,
            format!(
                "{whose}; limits can use: {}; not delegated: {}",
                if usable.is_empty() {
                    "none".into()
                } else {
                    usable.join(" ")
                },
                absent.join(", ")
            ),
            drop_in_fix(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{testing::FakeHost, Status};
    use super::*;
    use std::path::PathBuf;

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
            check.found.contains("without the cpu, io, memory, pids"),
            "{check:?}"
        );
        let none = FakeHost::new();
        assert_eq!(v2(&none.paths.proc_self).status, Status::Warn);
    }

    #[test]
    fn delegated_when_the_cgroup_is_the_users() {
        let (host, _) = host_with_cgroup("cpu io memory pids\n");
        let check = delegation(&host.paths.proc_self, my_uid());
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.found.contains("/user/app is yours"), "{check:?}");
        assert!(
            check.found.ends_with("limits can use: cpu io memory pids"),
            "{check:?}"
        );
    }

    #[test]
    fn not_delegated_names_systemd_run() {
        let (host, _) = host_with_cgroup("cpu memory pids\n");
        let check = delegation(&host.paths.proc_self, my_uid() + 1);
        assert_eq!(check.status, Status::Warn);
        assert!(check.found.contains("not delegated"), "{check:?}");
        let fix = check.fix.unwrap();
        assert!(fix.contains("systemd-run --user --scope") && fix.contains("Delegate=yes"));
        assert!(fix.contains("limit flags"), "{fix}");
    }

    #[test]
    fn delegated_without_controllers_is_a_warning() {
        let (host, _) = host_with_cgroup("cpu\n");
        let check = delegation(&host.paths.proc_self, my_uid());
        assert_eq!(check.status, Status::Warn);
        assert!(
            check
                .found
                .contains("limits can use: cpu; not delegated: io, memory, pids"),
            "{check:?}"
        );
        assert!(check.fix.unwrap().contains(DROP_IN));
    }
}
