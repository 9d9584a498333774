//! Explanations for the host settings that stop unprivileged user namespaces.
//!
//! Three switches exist in the wild, each failing at a different step: `user.max_user_namespaces
//! = 0` (clone fails with ENOSPC), Debian's older `kernel.unprivileged_userns_clone = 0` (clone
//! fails with EPERM) and Ubuntu's `kernel.apparmor_restrict_unprivileged_userns = 1` (clone
//! succeeds, then writing uid_map or mounting fails with EPERM). The sysctl directory is a
//! parameter so tests can fake each host.

use std::path::Path;

fn sysctl(proc_sys: &Path, name: &str) -> Option<i64> {
    std::fs::read_to_string(proc_sys.join(name))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The most specific fix for "the kernel refused an unprivileged user namespace" on this host.
pub fn userns_hint(proc_sys: &Path) -> String {
    if sysctl(proc_sys, "user/max_user_namespaces") == Some(0) {
        return "user namespaces are disabled (user.max_user_namespaces = 0); fix: \
                `sudo sysctl -w user.max_user_namespaces=28633` and make it permanent in \
                /etc/sysctl.d/"
            .into();
    }
    if sysctl(proc_sys, "kernel/unprivileged_userns_clone") == Some(0) {
        return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0); \
                fix: `sudo sysctl -w kernel.unprivileged_userns_clone=1` and make it permanent in \
                /etc/sysctl.d/"
            .into();
    }
    if sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        return "AppArmor restricts unprivileged user namespaces on this host \
                (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10 and later); fix: \
                install an AppArmor profile for hutch that grants `userns`, or \
                `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
            .into();
    }
    "the kernel refused an unprivileged user namespace; if hutch runs inside a container, the \
     container's seccomp or LSM policy may forbid it (e.g. Docker: --security-opt \
     seccomp=unconfined), or the per-user namespace limit (user.max_user_namespaces) is reached"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(settings: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in settings {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("{value}\n")).unwrap();
        }
        dir
    }

    #[test]
    fn names_the_switch_that_is_off() {
        let h = host(&[("user/max_user_namespaces", "0")]);
        assert!(userns_hint(h.path()).contains("user.max_user_namespaces=28633"));
        let h = host(&[
            ("user/max_user_namespaces", "100"),
            ("kernel/unprivileged_userns_clone", "0"),
        ]);
        assert!(userns_hint(h.path()).contains("kernel.unprivileged_userns_clone=1"));
        let h = host(&[("kernel/apparmor_restrict_unprivileged_userns", "1")]);
        assert!(userns_hint(h.path()).contains("AppArmor"));
    }

    #[test]
    fn falls_back_to_a_general_explanation() {
        let h = host(&[
            ("user/max_user_namespaces", "100"),
            ("kernel/apparmor_restrict_unprivileged_userns", "0"),
        ]);
        assert!(userns_hint(h.path()).contains("container"));
    }
}
