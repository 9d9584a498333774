//! Capabilities (capabilities(7)) the sandbox keeps.
//!
//! The sandbox's first process holds every capability in its new user namespace; it needs them
//! to mount. Before anything of the user's runs, every set is cut down: bounding, ambient and
//! inheritable to nothing (or to the kept list), effective and permitted to the kept list. With
//! the user mapped to itself the kept list is empty. With `--map-root` it is podman's default
//! list — enough for a distro's package manager and `su`, and none that administers the kernel
//! (no SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE).

use crate::sys::{self, SysError};

/// Capability names and numbers (linux/capability.h).
const NAMES: &[(&str, u32)] = &[
    ("CHOWN", 0),
    ("DAC_OVERRIDE", 1),
    ("DAC_READ_SEARCH", 2),
    ("FOWNER", 3),
    ("FSETID", 4),
    ("KILL", 5),
    ("SETGID", 6),
    ("SETUID", 7),
    ("SETPCAP", 8),
    ("LINUX_IMMUTABLE", 9),
    ("NET_BIND_SERVICE", 10),
    ("NET_BROADCAST", 11),
    ("NET_ADMIN", 12),
    ("NET_RAW", 13),
    ("IPC_LOCK", 14),
    ("IPC_OWNER", 15),
    ("SYS_MODULE", 16),
    ("SYS_RAWIO", 17),
    ("SYS_CHROOT", 18),
    ("SYS_PTRACE", 19),
    ("SYS_PACCT", 20),
    ("SYS_ADMIN", 21),
    ("SYS_BOOT", 22),
    ("SYS_NICE", 23),
    ("SYS_RESOURCE", 24),
    ("SYS_TIME", 25),
    ("SYS_TTY_CONFIG", 26),
    ("MKNOD", 27),
    ("LEASE", 28),
    ("AUDIT_WRITE", 29),
    ("AUDIT_CONTROL", 30),
    ("SETFCAP", 31),
    ("MAC_OVERRIDE", 32),
    ("MAC_ADMIN", 33),
    ("SYSLOG", 34),
    ("WAKE_ALARM", 35),
    ("BLOCK_SUSPEND", 36),
    ("AUDIT_READ", 37),
    ("PERFMON", 38),
    ("BPF", 39),
    ("CHECKPOINT_RESTORE", 40),
];

/// What root inside keeps by default: podman's default capability list.
pub const ROOT_DEFAULT: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "SETFCAP",
    "AUDIT_WRITE",
];

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("unknown capability {name:?}")]
    Unknown { name: String },
    #[error("cannot drop capabilities")]
    Drop(#[source] SysError),
}

impl CapsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            CapsError::Unknown { .. } => Some(format!(
                "capabilities are named without the CAP_ prefix, e.g. {}",
                ROOT_DEFAULT[..3].join(", ")
            )),
            CapsError::Drop(_) => None,
        }
    }
}

/// A set of capabilities as a bit mask over capability numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// Parse names such as `CHOWN` or `CAP_CHOWN` (any case).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<CapSet, CapsError> {
        let mut mask = 0u64;
        for name in names {
            let raw = name.as_ref();
            let upper = raw.to_ascii_uppercase();
            let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
            let (_, number) =
                NAMES
                    .iter()
                    .find(|(n, _)| *n == bare)
                    .ok_or_else(|| CapsError::Unknown {
                        name: raw.to_owned(),
                    })?;
            mask |= 1 << number;
        }
        Ok(CapSet(mask))
    }

    /// This set plus the capability `name` (which must be a known name).
    pub fn with(self, name: &str) -> CapSet {
        CapSet(
            self.0
                | CapSet::from_names(&[name])
                    .expect("a known capability name")
                    .0,
        )
    }

    pub fn names(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(_, n)| self.0 & (1 << n) != 0)
            .map(|(name, _)| *name)
            .collect()
    }

    fn contains(&self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }
}

/// Cut every capability set of this thread down to `keep`.
pub fn restrict_to(keep: CapSet) -> Result<(), CapsError> {
    limit_bounding(keep, sys::last_capability())?;
    restrict_sets(keep)
}

/// Drop from this thread's bounding set every capability up to `last` (the kernel's highest,
/// [`sys::last_capability`]) that is not in `keep`: no execve can grant it again. Comes first:
/// it needs CAP_SETPCAP, which [`restrict_sets`] may remove.
pub fn limit_bounding(keep: CapSet, last: u32) -> Result<(), CapsError> {
    for cap in 0..=last {
        if !keep.contains(cap) {
            sys::drop_bounding_capability(cap).map_err(CapsError::Drop)?;
        }
    }
    Ok(())
}

/// Clear this thread's ambient set and cut its effective, permitted and inheritable sets to
/// `keep`, after [`limit_bounding`].
pub fn restrict_sets(keep: CapSet) -> Result<(), CapsError> {
    sys::clear_ambient_capabilities().map_err(CapsError::Drop)?;
    sys::set_capabilities(keep.0).map_err(CapsError::Drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_or_without_prefix() {
        let set = CapSet::from_names(&["chown", "CAP_KILL", "SYS_CHROOT"]).unwrap();
        assert_eq!(set, CapSet((1 << 0) | (1 << 5) | (1 << 18)));
        assert_eq!(set.names(), ["CHOWN", "KILL", "SYS_CHROOT"]);
        assert!(matches!(
            CapSet::from_names(&["SYS_GOD"]),
            Err(CapsError::Unknown { .. })
        ));
    }

    #[test]
    fn root_default_excludes_kernel_administration() {
        let set = CapSet::from_names(ROOT_DEFAULT).unwrap();
        for dangerous in [
            "SYS_ADMIN",
            "NET_ADMIN",
            "SYS_PTRACE",
            "SYS_MODULE",
            "MKNOD",
            "NET_RAW",
        ] {
            assert!(!set.names().contains(&dangerous), "{dangerous}");
        }
        assert_eq!(set.names().len(), ROOT_DEFAULT.len());
    }
}
