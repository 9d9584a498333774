//! Checks of the kernel itself: its release, the three switches that stop unprivileged user
//! namespaces (see [`crate::diagnose`]), the Landlock ABI and seccomp filter support.
//!
//! A switch that says "user namespaces are off" is a failure only when the probe agrees: a
//! privileged process, or one an AppArmor profile exempts, gets its namespace anyway.

use std::path::Path;

use super::{status_field, Check, Status};
use crate::diagnose::{
    self, FIX_APPARMOR_RESTRICTION, FIX_MAX_USER_NAMESPACES, FIX_UNPRIVILEGED_USERNS_CLONE,
};
use crate::sys::Errno;

/// The oldest kernel hutch can run on: every mount destination is resolved inside the new root
/// with openat2(2) and attached with the new mount API (`open_tree`, `move_mount`), both 5.6.
const OLDEST: (u32, u32) = (5, 6);
/// Unprivileged overlayfs mounts in a user namespace.
const OVERLAY_IN_USERNS: (u32, u32) = (5, 11);
/// Landlock.
const LANDLOCK: (u32, u32) = (5, 13);

/// `major.minor` from a release string such as `6.8.0-45-generic`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut numbers = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

/// `kernel.version`: the release from `kernel/osrelease`.
pub fn version(proc_sys: &Path) -> Check {
    const ID: &str = "kernel.version";
    let path = proc_sys.join("kernel/osrelease");
    let release = match std::fs::read_to_string(&path) {
        Ok(release) => release.trim().to_owned(),
        Err(e) => {
            return Check::new(
                ID,
                Status::Warn,
                format!("cannot read {}: {e}", path.display()),
                None,
            )
        }
    };
    let Some(version) = parse_release(&release) else {
        return Check::ok(
            ID,
            format!("Linux {release} (release not understood; the probes below decide)"),
        );
    };
    let upgrade = "upgrade to Linux 5.13 or later";
    if version < OLDEST {
        Check::fail(
            ID,
            format!("Linux {release}: too old, hutch needs 5.6 or later (openat2 and the new mount API)"),
            format!("{upgrade} (overlayfs in user namespaces and Landlock come with it)"),
        )
    } else if version < OVERLAY_IN_USERNS {
        Check::warn(
            ID,
            format!(
                "Linux {release}: no overlayfs in user namespaces (5.11) and no Landlock (5.13)"
            ),
            format!("{upgrade} for --overlay, image-based environments and Landlock"),
        )
    } else if version < LANDLOCK {
        Check::warn(
            ID,
            format!("Linux {release}: no Landlock (5.13)"),
            format!("{upgrade} for Landlock file-access rules"),
        )
    } else {
        Check::ok(ID, format!("Linux {release}"))
    }
}

/// `userns.max_user_namespaces`: 0 turns user namespaces off for everyone.
pub fn max_user_namespaces(proc_sys: &Path, userns_works: bool) -> Check {
    const ID: &str = "userns.max_user_namespaces";
    match diagnose::sysctl(proc_sys, "user/max_user_namespaces") {
        None if userns_works => {
            Check::ok(ID, "not present, yet the probe created a user namespace")
        }
        None => Check::fail(
            ID,
            "not present: the kernel has no user namespaces (CONFIG_USER_NS)",
            "use a kernel built with CONFIG_USER_NS=y",
        ),
        Some(0) if userns_works => Check::warn(
            ID,
            "0 (user namespaces are off), yet the probe created one",
            FIX_MAX_USER_NAMESPACES,
        ),
        Some(0) => Check::fail(ID, "0: user namespaces are off", FIX_MAX_USER_NAMESPACES),
        Some(n) => Check::ok(ID, n.to_string()),
    }
}

/// `userns.unprivileged_userns_clone`: Debian's older switch; only some kernels have it.
pub fn unprivileged_userns_clone(proc_sys: &Path, userns_works: bool) -> Check {
    const ID: &str = "userns.unprivileged_userns_clone";
    match diagnose::sysctl(proc_sys, "kernel/unprivileged_userns_clone") {
        None => Check::ok(
            ID,
            "not present (only older Debian kernels have this switch)",
        ),
        Some(0) if userns_works => Check::warn(
            ID,
            "0: only privileged processes may create user namespaces (the probe passed \
             because this one is privileged)",
            FIX_UNPRIVILEGED_USERNS_CLONE,
        ),
        Some(0) => Check::fail(
            ID,
            "0: unprivileged user namespaces are off",
            FIX_UNPRIVILEGED_USERNS_CLONE,
        ),
        Some(n) => Check::ok(ID, n.to_string()),
    }
}

/// `userns.apparmor_restriction`: Ubuntu 23.10 and later; creating the namespace succeeds, and
/// the process loses its capabilities in it unless an AppArmor profile grants `userns`.
pub fn apparmor_restriction(proc_sys: &Path, userns_works: bool) -> Check {
    const ID: &str = "userns.apparmor_restriction";
    match diagnose::sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns") {
        None => Check::ok(
            ID,
            "not present (no AppArmor restriction of user namespaces)",
        ),
        Some(1) if userns_works => Check::ok(
            ID,
            "1 (AppArmor restricts user namespaces), but the probe passed: an AppArmor profile \
             grants hutch `userns`, or this process is privileged",
        ),
        Some(1) => Check::fail(
            ID,
            "1: AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and later)",
            FIX_APPARMOR_RESTRICTION,
        ),
        Some(n) => Check::ok(ID, n.to_string()),
    }
}

/// What each Landlock ABI version added.
const LANDLOCK_ABI: &[(i32, &str)] = &[
    (1, "file access"),
    (2, "renames across directories"),
    (3, "truncate"),
    (4, "TCP bind and connect"),
    (5, "device ioctls"),
    (6, "signal and abstract-socket scoping"),
    (7, "audit log controls"),
];

/// `landlock.abi`: from `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`.
pub fn landlock(abi: Result<i32, Errno>) -> Check {
    const ID: &str = "landlock.abi";
    let without = "until then hutch runs without Landlock rules, and `--landlock require` refuses \
                   to run";
    match abi {
        Ok(abi) if abi >= 1 => {
            let covers: Vec<&str> = LANDLOCK_ABI
                .iter()
                .filter(|(v, _)| *v <= abi)
                .map(|(_, what)| *what)
                .collect();
            let mut found = format!("ABI {abi}: {}", covers.join(", "));
            if let Some((v, next)) = LANDLOCK_ABI.iter().find(|(v, _)| *v > abi) {
                found.push_str(&format!("; not {next} (ABI {v})"));
            }
            Check::ok(ID, found)
        }
        Ok(abi) => Check::warn(
            ID,
            format!("the kernel reports ABI {abi}, which hutch does not know"),
            "report this with the output of `uname -r`",
        ),
        Err(Errno::EOPNOTSUPP) => Check::warn(
            ID,
            "Landlock is built into the kernel but not enabled",
            format!(
                "add `landlock` to the kernel's `lsm=` boot parameter (the current list is in \
                 /sys/kernel/security/lsm), e.g. lsm=landlock,lockdown,yama,apparmor,bpf; {without}"
            ),
        ),
        Err(Errno::ENOSYS) => Check::warn(
            ID,
            "Landlock is not supported by this kernel",
            format!("use Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK; {without}"),
        ),
        Err(errno) => Check::warn(
            ID,
            format!("landlock_create_ruleset failed: {errno} (a container's seccomp policy?)"),
            format!("run hutch on the host or allow the Landlock system calls; {without}"),
        ),
    }
}

/// `seccomp.filter`: from `Seccomp:` in `/proc/self/status` (present when the kernel has
/// seccomp) and `kernel/seccomp/actions_avail` (present with filter support, 4.14+).
pub fn seccomp(status: &str, proc_sys: &Path) -> Check {
    const ID: &str = "seccomp.filter";
    let without = "until then hutch runs without its system call filter";
    let Some(mode) = status_field(status, "Seccomp") else {
        return Check::warn(
            ID,
            "the kernel has no seccomp (no Seccomp field in /proc/self/status)",
            format!("use a kernel built with CONFIG_SECCOMP_FILTER; {without}"),
        );
    };
    let actions_path = proc_sys.join("kernel/seccomp/actions_avail");
    let actions = std::fs::read_to_string(&actions_path).unwrap_or_default();
    let actions: Vec<&str> = actions.split_whitespace().collect();
    if !actions.contains(&"errno") {
        return Check::warn(
            ID,
            format!(
                "seccomp filters are not available ({} does not list the errno action)",
                actions_path.display()
            ),
            format!("use Linux 4.14 or later built with CONFIG_SECCOMP_FILTER; {without}"),
        );
    }
    match mode {
        "2" => {
            let filters = status_field(status, "Seccomp_filters")
                .map(|n| format!("{n} filter(s)"))
                .unwrap_or_else(|| "a filter".into());
            Check::ok(
                ID,
                format!(
                    "filters available; this process already runs under {filters} (a container \
                     or service manager), and hutch's filter adds to them"
                ),
            )
        }
        _ => Check::ok(
            ID,
            format!("filters available (actions: {})", actions.join(" ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::FakeHost;
    use super::*;

    #[test]
    fn reads_major_and_minor() {
        assert_eq!(parse_release("6.8.0-45-generic\n"), Some((6, 8)));
        assert_eq!(parse_release("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_release("5.4"), Some((5, 4)));
        assert_eq!(parse_release("6"), None);
        assert_eq!(parse_release("weird"), None);
    }

    #[test]
    fn kernel_version_by_release() {
        let host = FakeHost::new();
        let check = |release: &str| {
            host.write("proc/sys/kernel/osrelease", release);
            version(&host.paths.proc_sys)
        };
        assert_eq!(check("6.8.0-45-generic\n").status, Status::Ok);
        assert_eq!(check("5.12.1").status, Status::Warn);
        let old = check("5.10.0-28-amd64");
        assert_eq!(old.status, Status::Warn);
        assert!(old.found.contains("overlayfs"), "{old:?}");
        assert_eq!(check("3.10.0-1160.el7").status, Status::Fail);
        // No openat2 for resolving mount destinations inside the root.
        let too_old = check("5.4.0-150-generic");
        assert_eq!(too_old.status, Status::Fail);
        assert!(too_old.found.contains("5.6"), "{too_old:?}");
    }

    #[test]
    fn user_namespaces_switched_off() {
        let host = FakeHost::new();
        host.write("proc/sys/user/max_user_namespaces", "0\n");
        let check = max_user_namespaces(&host.paths.proc_sys, false);
        assert_eq!(check.status, Status::Fail);
        assert!(check
            .fix
            .unwrap()
            .contains("user.max_user_namespaces=28633"));
        host.write("proc/sys/user/max_user_namespaces", "63704\n");
        let check = max_user_namespaces(&host.paths.proc_sys, true);
        assert_eq!((check.status, check.found.as_str()), (Status::Ok, "63704"));
    }

    #[test]
    fn no_user_namespaces_in_the_kernel() {
        let host = FakeHost::new();
        assert_eq!(
            max_user_namespaces(&host.paths.proc_sys, false).status,
            Status::Fail
        );
    }

    #[test]
    fn debian_switch_is_optional() {
        let host = FakeHost::new();
        assert_eq!(
            unprivileged_userns_clone(&host.paths.proc_sys, true).status,
            Status::Ok
        );
        host.write("proc/sys/kernel/unprivileged_userns_clone", "0\n");
        let off = unprivileged_userns_clone(&host.paths.proc_sys, false);
        assert_eq!(off.status, Status::Fail);
        assert!(off.fix.unwrap().contains("unprivileged_userns_clone=1"));
        // Root passes the probe; unprivileged users still cannot.
        assert_eq!(
            unprivileged_userns_clone(&host.paths.proc_sys, true).status,
            Status::Warn
        );
    }

    #[test]
    fn apparmor_restriction_fails_only_when_the_probe_does() {
        let host = FakeHost::new();
        assert_eq!(
            apparmor_restriction(&host.paths.proc_sys, true).status,
            Status::Ok
        );
        host.write(
            "proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1\n",
        );
        let on = apparmor_restriction(&host.paths.proc_sys, false);
        assert_eq!(on.status, Status::Fail);
        let fix = on.fix.unwrap();
        assert!(
            fix.contains("AppArmor profile") && fix.contains("=0"),
            "{fix}"
        );
        // An AppArmor profile that grants `userns` lets the probe pass.
        assert_eq!(
            apparmor_restriction(&host.paths.proc_sys, true).status,
            Status::Ok
        );
        host.write(
            "proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "0\n",
        );
        assert_eq!(
            apparmor_restriction(&host.paths.proc_sys, false).status,
            Status::Ok
        );
    }

    #[test]
    fn landlock_states() {
        let abi3 = landlock(Ok(3));
        assert_eq!(abi3.status, Status::Ok);
        assert!(abi3.found.starts_with("ABI 3: file access"), "{abi3:?}");
        assert!(
            abi3.found.contains("not TCP bind and connect (ABI 4)"),
            "{abi3:?}"
        );
        let off = landlock(Err(Errno::EOPNOTSUPP));
        assert_eq!(off.status, Status::Warn);
        assert!(off.found.contains("not enabled"));
        assert!(off.fix.unwrap().contains("lsm="));
        let none = landlock(Err(Errno::ENOSYS));
        assert!(none.found.contains("not supported by this kernel"));
    }

    #[test]
    fn seccomp_states() {
        let host = FakeHost::new();
        let status = "Seccomp:\t0\n";
        assert_eq!(seccomp(status, &host.paths.proc_sys).status, Status::Warn);
        host.write(
            "proc/sys/kernel/seccomp/actions_avail",
            "kill_process kill_thread trap errno user_notif trace log allow\n",
        );
        assert_eq!(seccomp(status, &host.paths.proc_sys).status, Status::Ok);
        let nested = seccomp("Seccomp:\t2\nSeccomp_filters:\t1\n", &host.paths.proc_sys);
        assert_eq!(nested.status, Status::Ok);
        assert!(nested.found.contains("1 filter(s)"), "{nested:?}");
        let none = seccomp("Name:\tx\n", &host.paths.proc_sys);
        assert_eq!(none.status, Status::Warn);
        assert!(none.fix.unwrap().contains("CONFIG_SECCOMP_FILTER"));
    }
}
