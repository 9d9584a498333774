//! Explanations for the host settings that stop unprivileged user namespaces.
//!
//! Three switches exist in the wild, each failing at a different step: `user.max_user_namespaces
//! = 0` (clone fails with ENOSPC), Debian's older `kernel.unprivileged_userns_clone = 0` (clone
//! fails with EPERM) and Ubuntu's `kernel.apparmor_restrict_unprivileged_userns = 1` (clone
//! succeeds, then writing uid_map or mounting fails with EPERM). The sysctl directory is a
//! parameter so tests can fake each host.

use std::path::Path;

/// The fix for `user.max_user_namespaces = 0`.
pub const FIX_MAX_USER_NAMESPACES: &str =
    "`sudo sysctl -w user.max_user_namespaces=28633` and make it permanent in /etc/sysctl.d/";
/// The fix for Debian's `kernel.unprivileged_userns_clone = 0`.
pub const FIX_UNPRIVILEGED_USERNS_CLONE: &str =
    "`sudo sysctl -w kernel.unprivileged_userns_clone=1` and make it permanent in /etc/sysctl.d/";
/// The fix for Ubuntu's `kernel.apparmor_restrict_unprivileged_userns = 1`.
pub const FIX_APPARMOR_RESTRICTION: &str =
    "install the AppArmor profile that grants hutch `userns` (contrib/apparmor/hutch in hutch's \
     source: `sudo install -m 0644 contrib/apparmor/hutch /etc/apparmor.d/hutch && sudo \
     apparmor_parser -r /etc/apparmor.d/hutch`; it names /usr/{local/,}bin/hutch, edit the path \
     for another), or `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`";
/// Why mounting a fresh /proc fails with EPERM, and what to do.
pub const MASKED_PROC: &str =
    "mounting /proc needs a fully visible /proc on the host; inside a container that masks \
     parts of /proc this fails (run hutch on the host, or a container with an unmasked /proc)";

/// The end of a runtime hint about the host: `hutch check` has a check for the same thing, and
/// tells more (every switch, and a probe of each step).
pub const SEE_CHECK: &str = "run `hutch check` for details";

/// The fix when none of the switches is off.
pub const FIX_OTHERWISE: &str =
    "if hutch runs inside a container, allow user namespaces there (Docker: --security-opt \
     seccomp=unconfined); otherwise the per-user limit user.max_user_namespaces may be reached";

/// Just the fix of [`userns_hint`], for `hutch check`'s one-line fix.
pub fn userns_fix(proc_sys: &Path) -> &'static str {
    if sysctl(proc_sys, "user/max_user_namespaces") == Some(0) {
        FIX_MAX_USER_NAMESPACES
    } else if sysctl(proc_sys, "kernel/unprivileged_userns_clone") == Some(0) {
        FIX_UNPRIVILEGED_USERNS_CLONE
    } else if sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        FIX_APPARMOR_RESTRICTION
    } else {
        FIX_OTHERWISE
    }
}

/// A numeric sysctl under `proc_sys` (`name` as a path: `user/max_user_namespaces`); `None`
/// when it does not exist on this kernel or cannot be read.
pub fn sysctl(proc_sys: &Path, name: &str) -> Option<i64> {
    std::fs::read_to_string(proc_sys.join(name))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The most specific fix for "the kernel refused an unprivileged user namespace" on this host.
pub fn userns_hint(proc_sys: &Path) -> String {
    if sysctl(proc_sys, "user/max_user_namespaces") == Some(0) {
        return format!(
            "user namespaces are disabled (user.max_user_namespaces = 0); fix: \
             {FIX_MAX_USER_NAMESPACES}; {SEE_CHECK}"
        );
    }
    if sysctl(proc_sys, "kernel/unprivileged_userns_clone") == Some(0) {
        return format!(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0); \
             fix: {FIX_UNPRIVILEGED_USERNS_CLONE}; {SEE_CHECK}"
        );
    }
    if sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        return format!(
            "AppArmor restricts unprivileged user namespaces on this host \
             (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10 and later); fix: \
             {FIX_APPARMOR_RESTRICTION}; {SEE_CHECK}"
        );
    }
    "the kernel refused an unprivileged user namespace; if hutch runs inside a container, the \
     container's seccomp or LSM policy may forbid it (e.g. Docker: --security-opt \
     seccomp=unconfined), or the per-user namespace limit (user.max_user_namespaces) is reached; \
     `hutch check` probes each step and names the one that fails"
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
        assert!(userns_hint(h.path()).ends_with(SEE_CHECK));
    }

    /// The fix names the shipped profile, and the path it attaches to.
    #[test]
    fn the_apparmor_fix_matches_the_shipped_profile() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/apparmor/hutch");
        let profile = std::fs::read_to_string(&path).unwrap();
        assert!(FIX_APPARMOR_RESTRICTION.contains("contrib/apparmor/hutch"));
        let attach = profile
            .lines()
            .find_map(|line| line.strip_prefix("profile hutch "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a `profile hutch PATH` line");
        assert_eq!(attach, "/usr/{local/,}bin/hutch");
        assert!(FIX_APPARMOR_RESTRICTION.contains(attach));
        assert!(profile.contains("\n  userns,\n"));
    }

    #[test]
    fn the_fix_alone_follows_the_same_order() {
        let h = host(&[
            ("user/max_user_namespaces", "100"),
            ("kernel/apparmor_restrict_unprivileged_userns", "1"),
        ]);
        assert_eq!(userns_fix(h.path()), FIX_APPARMOR_RESTRICTION);
        let h = host(&[("user/max_user_namespaces", "0")]);
        assert_eq!(userns_fix(h.path()), FIX_MAX_USER_NAMESPACES);
        let h = host(&[]);
        assert_eq!(userns_fix(h.path()), FIX_OTHERWISE);
    }

    #[test]
    fn falls_back_to_a_general_explanation() {
        let h = host(&[
            ("user/max_user_namespaces", "100"),
            ("kernel/apparmor_restrict_unprivileged_userns", "0"),
        ]);
        let hint = userns_hint(h.path());
        assert!(hint.contains("container"), "{hint}");
        assert!(hint.contains("`hutch check`"), "{hint}");
    }
}
