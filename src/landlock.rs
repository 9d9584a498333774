//! Landlock (landlock(7)): what the sandbox may open, derived from the same mount plan.
//!
//! Mounts decide what is visible; Landlock decides, independently, what may be done with it, so
//! a mistake in one layer is caught by the other. Read-only mounts grant read and execute,
//! writable mounts and tmpfs everything, devices read, write and ioctl. Access is the union of
//! the rules on a path's ancestors, so a read-only mount below a writable one is held read-only
//! by the mount layer alone. With ABI 6 the sandbox is also scoped: it can neither connect to
//! abstract unix sockets nor signal processes outside it. Rules are enforced best-effort by the
//! kernel's ABI unless the user asks to `require` them all.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use ::landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    RestrictionStatus, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetError,
    RulesetStatus, Scope, ABI,
};
use serde::Deserialize;

use crate::mounts::{self, MountOp};

/// The ABI whose features hutch asks for: filesystem access (V1–V5: refer, truncate, device
/// ioctls) and scoping of abstract unix sockets and signals (V6).
const TARGET: ABI = ABI::V6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LandlockMode {
    /// Enforce what the kernel supports, say what it does not.
    #[default]
    BestEffort,
    /// Refuse to run unless the kernel enforces every rule and scope.
    Require,
    /// No Landlock at all.
    Off,
}

impl std::str::FromStr for LandlockMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best-effort" => Ok(LandlockMode::BestEffort),
            "require" => Ok(LandlockMode::Require),
            "off" => Ok(LandlockMode::Off),
            _ => Err(format!("{s:?} is not one of best-effort, require, off")),
        }
    }
}

impl std::fmt::Display for LandlockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LandlockMode::BestEffort => "best-effort",
            LandlockMode::Require => "require",
            LandlockMode::Off => "off",
        })
    }
}

/// What a rule grants beneath its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ReadExecute,
    Full,
    /// Device nodes and terminals: read, write and ioctl, no creating or removing.
    Device,
    /// /proc: read, and write its files (oom_score_adj, …); no executing from it.
    Proc,
}

impl Grant {
    pub fn name(&self) -> &'static str {
        match self {
            Grant::ReadExecute => "read, execute",
            Grant::Full => "read, write, create, remove, execute",
            Grant::Device => "read, write, device ioctl",
            Grant::Proc => "read, write files",
        }
    }

    fn access(&self, abi: ABI) -> BitFlags<AccessFs> {
        match self {
            Grant::ReadExecute => AccessFs::from_read(abi),
            Grant::Full => AccessFs::from_all(abi),
            Grant::Device => {
                AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::ReadDir | AccessFs::IoctlDev
            }
            Grant::Proc => AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::ReadDir,
        }
    }
}

/// TCP ports the sandbox may bind and connect to (ABI 4). `None` leaves that kind of access
/// unrestricted; `Some(vec![])` forbids it. Only meaningful when the network is shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpPorts {
    pub bind: Option<Vec<u16>>,
    pub connect: Option<Vec<u16>>,
}

/// What a Landlock domain is kept from beyond its own (ABI 6). A one-shot sandbox is one
/// domain and takes both. An environment does not: every `hutch exec` makes a domain of its
/// own, and its commands must still signal PID 1 (`reboot`) and each other; its pid namespace
/// already hides every host process, and its own network namespace the host's abstract sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    pub abstract_sockets: bool,
    pub signals: bool,
}

impl Default for Scopes {
    fn default() -> Scopes {
        Scopes {
            abstract_sockets: true,
            signals: true,
        }
    }
}

impl Scopes {
    fn flags(&self) -> BitFlags<Scope> {
        let mut flags = BitFlags::empty();
        if self.abstract_sockets {
            flags |= Scope::AbstractUnixSocket;
        }
        if self.signals {
            flags |= Scope::Signal;
        }
        flags
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.abstract_sockets {
            names.push("abstract unix sockets");
        }
        if self.signals {
            names.push("signals");
        }
        names
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    /// A path inside the sandbox (after pivot_root).
    pub path: PathBuf,
    pub grant: Grant,
}

/// The rules for a mount plan: one per mount, in the plan's order.
pub fn rules(ops: &[MountOp]) -> Vec<PathRule> {
    ops.iter()
        .filter_map(|op| {
            let (path, grant) = match op {
                MountOp::Bind { dst, access, .. } => (
                    dst,
                    match access {
                        mounts::Access::ReadOnly => Grant::ReadExecute,
                        mounts::Access::ReadWrite => Grant::Full,
                        mounts::Access::Device => Grant::Device,
                    },
                ),
                MountOp::Tmpfs { dst, .. } | MountOp::Overlay { dst, .. } => (dst, Grant::Full),
                MountOp::Proc { dst } => (dst, Grant::Proc),
                MountOp::Devpts { dst } => (dst, Grant::Device),
                MountOp::Cgroup2 {
                    dst,
                    read_only: true,
                } => (dst, Grant::ReadExecute),
                MountOp::Cgroup2 { dst, .. } => (dst, Grant::Full),
                MountOp::Symlink { .. } => return None,
                MountOp::File { dst, .. } | MountOp::Sysfs { dst } => (dst, Grant::ReadExecute),
                MountOp::FileSystem {
                    fstype, dst, attrs, ..
                } => (
                    dst,
                    match fstype.as_str() {
                        "proc" => Grant::Proc,
                        "devpts" => Grant::Device,
                        _ if attrs & crate::sys::mount_attr::RDONLY != 0 => Grant::ReadExecute,
                        _ => Grant::Full,
                    },
                ),
                MountOp::BindWith { dst, attrs, .. } => (
                    dst,
                    if attrs & crate::sys::mount_attr::RDONLY != 0 {
                        Grant::ReadExecute
                    } else {
                        Grant::Full
                    },
                ),
                // Narrower than what holds them; the mount layer enforces them.
                MountOp::ReadOnly { .. } | MountOp::Mask { .. } => return None,
            };
            Some(PathRule {
                path: path.clone(),
                grant,
            })
        })
        .collect()
}

/// What this kernel offers, for `--explain` and for `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSupport {
    Abi(i32),
    NotEnabled,
    NotBuiltIn,
}

pub fn kernel_support() -> KernelSupport {
    match crate::sys::landlock_abi_version() {
        Ok(abi) => KernelSupport::Abi(abi),
        Err(crate::sys::Errno::EOPNOTSUPP) => KernelSupport::NotEnabled,
        Err(_) => KernelSupport::NotBuiltIn,
    }
}

/// The features hutch asks for that `support` does not enforce.
pub fn missing_features(support: KernelSupport) -> Vec<&'static str> {
    let abi = match support {
        KernelSupport::Abi(abi) => abi,
        _ => {
            return vec![
                "all file system rules",
                "abstract unix socket and signal scoping",
            ]
        }
    };
    [
        (2, "renaming and linking across directories (refer)"),
        (3, "truncation"),
        (5, "device ioctl rules"),
        (4, "TCP port rules"),
        (6, "abstract unix socket and signal scoping"),
    ]
    .into_iter()
    .filter(|(needed, _)| abi < *needed)
    .map(|(_, feature)| feature)
    .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("Landlock rules cannot be enforced (--landlock require)")]
    Required(#[source] ::landlock::RulesetError),
    #[error("cannot apply Landlock rules")]
    Apply(#[source] ::landlock::RulesetError),
    #[error("Landlock is only partly enforced by this kernel (--landlock require)")]
    Partial,
}

impl LandlockError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LandlockError::Required(_) | LandlockError::Partial => {
                let missing = missing_features(kernel_support());
                let lacks = if missing.is_empty() {
                    String::new()
                } else {
                    format!("this kernel lacks: {}; ", missing.join(", "))
                };
                Some(format!(
                    "{lacks}use --landlock best-effort to run with what it has; {}",
                    crate::diagnose::SEE_CHECK
                ))
            }
            LandlockError::Apply(_) => None,
        }
    }
}

/// A ruleset built and not yet enforced: [`prepare`] makes it (it may run on another thread),
/// [`enforce`] restricts the calling thread with it.
pub struct Prepared {
    ruleset: RulesetCreated,
    mode: LandlockMode,
}

/// Restrict this process (and everything it starts) to `rules`.
pub fn apply(
    rules: &[PathRule],
    tcp: &TcpPorts,
    scopes: Scopes,
    mode: LandlockMode,
) -> Result<Option<RestrictionStatus>, LandlockError> {
    match prepare(rules, tcp, scopes, mode)? {
        Some(prepared) => enforce(prepared).map(Some),
        None => Ok(None),
    }
}

fn wrap(mode: LandlockMode) -> impl Fn(RulesetError) -> LandlockError {
    move |e| match mode {
        LandlockMode::Require => LandlockError::Required(e),
        _ => LandlockError::Apply(e),
    }
}

/// The ruleset for `rules` (paths that exist now), or `None` with Landlock off.
pub fn prepare(
    rules: &[PathRule],
    tcp: &TcpPorts,
    scopes: Scopes,
    mode: LandlockMode,
) -> Result<Option<Prepared>, LandlockError> {
    let level = match mode {
        LandlockMode::Off => return Ok(None),
        LandlockMode::BestEffort => CompatLevel::BestEffort,
        LandlockMode::Require => CompatLevel::HardRequirement,
    };
    let wrap = wrap(mode);
    let mut net = BitFlags::<AccessNet>::empty();
    if tcp.bind.is_some() {
        net |= AccessNet::BindTcp;
    }
    if tcp.connect.is_some() {
        net |= AccessNet::ConnectTcp;
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(level)
        .handle_access(AccessFs::from_all(TARGET))
        .and_then(|r| {
            if net.is_empty() {
                Ok(r)
            } else {
                r.handle_access(net)
            }
        })
        .and_then(|r| {
            if scopes.flags().is_empty() {
                Ok(r)
            } else {
                r.scope(scopes.flags())
            }
        })
        .and_then(|r| r.create())
        .map_err(&wrap)?;
    for (ports, access) in [
        (&tcp.bind, AccessNet::BindTcp),
        (&tcp.connect, AccessNet::ConnectTcp),
    ] {
        for &port in ports.iter().flatten() {
            ruleset = ruleset
                .add_rule(NetPort::new(port, access))
                .map_err(&wrap)?;
        }
    }
    for (rule, covered) in rules.iter().zip(covered_by(rules)) {
        if covered.is_some() {
            continue;
        }
        // A path that cannot be opened (a directory without search permission) is one the
        // payload cannot reach either, nor anything below it; it needs no rule.
        let Ok(fd) = PathFd::new(&rule.path) else {
            tracing::debug!(path = %rule.path.display(), "no Landlock rule: cannot open");
            continue;
        };
        let mut access = rule.grant.access(TARGET);
        // Directory-only rights on a file are an error to the kernel. The descriptor is open
        // already: fstat it rather than walk the path a second time.
        let is_dir = nix::sys::stat::fstat(std::os::fd::AsFd::as_fd(&fd).as_raw_fd())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        if !is_dir {
            access &= AccessFs::from_file(TARGET);
        }
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(&wrap)?;
    }
    Ok(Some(Prepared { ruleset, mode }))
}

/// The path of the rule in `added` that makes a rule granting `access` on `path` add nothing:
/// Landlock allows what any rule on the way up from a file to the root allows, so a rule below
/// (or on) one that grants as much changes nothing, and each rule costs an open, an fstat and a
/// landlock_add_rule at every start (/dev's nodes under /dev, a home or a working directory
/// under its tmpfs). "Below" is by path: rules are for mount destinations, which are reached
/// without symlinks (see `mounts::target`). Were a later mount to put a symlink on the way, the
/// rule skipped would only have granted more, elsewhere.
fn covering<'a>(
    path: &Path,
    access: BitFlags<AccessFs>,
    added: &[(&'a Path, BitFlags<AccessFs>)],
) -> Option<&'a Path> {
    added
        .iter()
        .find(|(above, granted)| path.starts_with(above) && granted.contains(access))
        .map(|(above, _)| *above)
}

/// For each of `rules`, the path of an earlier rule that grants as much on or above it
/// ([`covering`]), so that [`prepare`] adds no rule for it (`hutch run --explain` says so).
pub fn covered_by(rules: &[PathRule]) -> Vec<Option<&Path>> {
    let mut added: Vec<(&Path, BitFlags<AccessFs>)> = Vec::with_capacity(rules.len());
    rules
        .iter()
        .map(|rule| {
            let access = rule.grant.access(TARGET);
            let above = covering(&rule.path, access, &added);
            if above.is_none() {
                added.push((&rule.path, access));
            }
            above
        })
        .collect()
}

impl Prepared {
    /// Leave no_new_privs alone at enforcement (landlock_restrict_self(2) needs it, or
    /// CAP_SYS_ADMIN in the caller's user namespace, which the caller then holds): for an OCI
    /// container whose spec says `noNewPrivileges: false`, where setuid programs must work.
    pub fn without_no_new_privs(self) -> Prepared {
        Prepared {
            ruleset: self.ruleset.no_new_privs(false),
            mode: self.mode,
        }
    }
}

/// Restrict the calling thread (and everything it starts) with `prepared`.
pub fn enforce(prepared: Prepared) -> Result<RestrictionStatus, LandlockError> {
    let Prepared { ruleset, mode } = prepared;
    let status = ruleset.restrict_self().map_err(wrap(mode))?;
    if mode == LandlockMode::Require && status.ruleset != RulesetStatus::FullyEnforced {
        return Err(LandlockError::Partial);
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mounts::{plan, Mount};

    #[test]
    fn rules_follow_the_mount_plan() {
        let ops = plan(&[
            Mount::Bind {
                src: "/".into(),
                dst: "/".into(),
                read_only: true,
            },
            Mount::Tmpfs {
                dst: "/tmp".into(),
                mode: 0o1777,
            },
            Mount::Bind {
                src: "/w".into(),
                dst: "/w".into(),
                read_only: false,
            },
            Mount::Proc {
                dst: "/proc".into(),
            },
            Mount::Dev { dst: "/dev".into() },
        ]);
        let rules = rules(&ops);
        let grant = |p: &str| {
            rules
                .iter()
                .find(|r| r.path == std::path::Path::new(p))
                .map(|r| r.grant)
        };
        assert_eq!(grant("/"), Some(Grant::ReadExecute));
        assert_eq!(grant("/tmp"), Some(Grant::Full));
        assert_eq!(grant("/w"), Some(Grant::Full));
        assert_eq!(grant("/proc"), Some(Grant::Proc));
        assert_eq!(grant("/dev/null"), Some(Grant::Device));
        assert_eq!(grant("/dev/pts"), Some(Grant::Device));
        assert_eq!(grant("/dev/ptmx"), None, "symlinks get no rule");
    }

    #[test]
    fn explain_names_the_rule_that_covers_another() {
        let rule = |path: &str, grant| PathRule {
            path: path.into(),
            grant,
        };
        let rules = [
            rule("/", Grant::ReadExecute),
            rule("/dev", Grant::Full),
            rule("/dev/null", Grant::Device),
            rule("/tmp", Grant::Full),
            rule("/usr", Grant::ReadExecute),
        ];
        let covered: Vec<Option<&str>> = covered_by(&rules)
            .into_iter()
            .map(|p| p.map(|p| p.to_str().unwrap()))
            .collect();
        assert_eq!(covered, [None, None, Some("/dev"), None, Some("/")]);
    }

    #[test]
    fn a_rule_below_one_that_grants_as_much_adds_nothing() {
        let full = Grant::Full.access(TARGET);
        let device = Grant::Device.access(TARGET);
        let read = Grant::ReadExecute.access(TARGET);
        let added = [(Path::new("/"), read), (Path::new("/dev"), full)];
        let covers = |path, access, added: &[(&Path, BitFlags<AccessFs>)]| {
            covering(path, access, added).is_some()
        };
        assert!(covers(Path::new("/dev/null"), device, &added));
        assert!(covers(Path::new("/dev"), full, &added));
        assert!(covers(Path::new("/usr/bin"), read, &added));
        assert!(
            !covers(Path::new("/tmp"), full, &added),
            "more than / grants"
        );
        assert!(
            !covers(Path::new("/devices"), device, &added),
            "not below /dev"
        );
        assert!(!covers(Path::new("/dev"), full, &added[..1]));
    }

    #[test]
    fn read_only_grants_no_write() {
        let read = Grant::ReadExecute.access(TARGET);
        assert!(read.contains(AccessFs::Execute) && read.contains(AccessFs::ReadFile));
        assert!(!read.contains(AccessFs::WriteFile) && !read.contains(AccessFs::MakeReg));
        assert!(!Grant::Proc.access(TARGET).contains(AccessFs::Execute));
    }

    #[test]
    fn missing_features_by_abi() {
        assert!(missing_features(KernelSupport::Abi(3)).contains(&"TCP port rules"));
        assert!(missing_features(KernelSupport::Abi(6)).is_empty());
        assert_eq!(
            missing_features(KernelSupport::Abi(4)),
            [
                "device ioctl rules",
                "abstract unix socket and signal scoping"
            ]
        );
        assert_eq!(missing_features(KernelSupport::NotEnabled).len(), 2);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("require".parse::<LandlockMode>(), Ok(LandlockMode::Require));
        assert!("strict".parse::<LandlockMode>().is_err());
    }
}
