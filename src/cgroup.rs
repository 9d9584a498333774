//! cgroup v2 resource limits (`--memory`, `--memory-swap`, `--pids`, `--cpus`, `--cpu-weight`,
//! `--io-weight`): the kernel's accounting of memory, tasks, CPU time and I/O for a group of
//! processes (cgroups(7)), the rootless successor of OpenVZ's beancounters.
//!
//! An unprivileged user may only set limits in a subtree *delegated* to them ("Cgroups v2
//! delegation" in cgroups(7)): a cgroup whose directory, `cgroup.procs` and
//! `cgroup.subtree_control` they own, as systemd makes for `Delegate=yes` units. A login
//! shell's session scope is not one; `systemd-run --user --scope -p Delegate=yes` makes one
//! (see [`scope_command`]). Inside the delegated cgroup (the *base*) hutch keeps the "no
//! internal processes" rule: the launcher or supervisor moves into a leaf of its own
//! ([`LAUNCHER`]), controllers are enabled in the base, and each sandbox gets a leaf
//! (`hutch-sandbox-PID`) holding its limits, into which its PID 1 is born with
//! clone3(CLONE_INTO_CGROUP). The leaf is emptied with `cgroup.kill` and removed when the
//! sandbox ends; a leaf left by a killed hutch is swept at the next start in the same base.
//!
//! Every path is a parameter ([`CgroupHost`]) so that the decisions are tested on a fake tree.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The leaf the launcher (or an environment's supervisor) moves itself into.
pub const LAUNCHER: &str = "hutch-launcher";
/// The prefix of a sandbox's leaf.
const SANDBOX_PREFIX: &str = "hutch-sandbox-";
/// The systemd drop-in that delegates every controller hutch can use to user managers.
pub const DROP_IN: &str = "/etc/systemd/system/user@.service.d/delegate.conf";
const DROP_IN_TEXT: &str = "[Service]\\nDelegate=cpu cpuset io memory pids";
/// cpu.max's period: the kernel's default, 100 ms.
const CPU_PERIOD_US: u64 = 100_000;

/// The limit flags as given (`hutch create` keeps them so in env.toml's `[limits]`; a profile's
/// `[limits]` has the same keys). Checked by [`Resources::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFlags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_weight: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_weight: Option<String>,
}

/// The profile keys (`[limits]`) that are cgroup limits rather than rlimits.
pub const PROFILE_KEYS: &[&str] = &[
    "memory",
    "memory_swap",
    "pids",
    "cpus",
    "cpu_weight",
    "io_weight",
];

impl ResourceFlags {
    pub fn is_empty(&self) -> bool {
        *self == ResourceFlags::default()
    }

    /// The value slot of a profile key or flag name (`memory_swap` or `memory-swap`).
    pub fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key.replace('-', "_").as_str() {
            "memory" => &mut self.memory,
            "memory_swap" => &mut self.memory_swap,
            "pids" => &mut self.pids,
            "cpus" => &mut self.cpus,
            "cpu_weight" => &mut self.cpu_weight,
            "io_weight" => &mut self.io_weight,
            _ => return None,
        })
    }

    /// These values over `base`: each one given here replaces the one there.
    pub fn over(&self, base: &ResourceFlags) -> ResourceFlags {
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        ResourceFlags {
            memory: pick(&self.memory, &base.memory),
            memory_swap: pick(&self.memory_swap, &base.memory_swap),
            pids: pick(&self.pids, &base.pids),
            cpus: pick(&self.cpus, &base.cpus),
            cpu_weight: pick(&self.cpu_weight, &base.cpu_weight),
            io_weight: pick(&self.io_weight, &base.io_weight),
        }
    }
}

/// A byte or task count, or no limit (`max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Limited(u64),
    Max,
}

impl Amount {
    fn render(self) -> String {
        match self {
            Amount::Limited(n) => n.to_string(),
            Amount::Max => "max".into(),
        }
    }
}

/// Validated limits; empty means the sandbox gets no cgroup of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub memory: Option<Amount>,
    pub memory_swap: Option<Amount>,
    pub pids: Option<Amount>,
    /// cpu.max's quota in microseconds per [`CPU_PERIOD_US`].
    pub cpu_quota_us: Option<u64>,
    pub cpu_weight: Option<u16>,
    pub io_weight: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
#[error("{origin} {value:?}: expected {expected}")]
pub struct ResourceError {
    /// The flag (`--memory`) or profile key that holds the value.
    pub origin: String,
    pub value: String,
    pub expected: &'static str,
}

const SIZE: &str = "a size in bytes with an optional K, M, G or T suffix (e.g. 512M, 2G), or `max`";
const SWAP: &str = "a size such as 512M, 0 for no swap, or `max`";
const COUNT: &str = "a whole number of tasks above 0, or `max`";
const CPUS: &str = "a number of CPUs from 0.01 up, e.g. 0.5 or 2";
const WEIGHT: &str = "a weight from 1 to 10000 (100 is the default share)";

/// `64M`, `1G`, `4096`, `max`: bytes (binary suffixes, as memory.max's users expect).
pub fn parse_size(text: &str) -> Option<Amount> {
    let text = text.trim();
    if matches!(text, "max" | "unlimited") {
        return Some(Amount::Max);
    }
    let upper = text.to_ascii_uppercase();
    let digits = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (number, shift) = match digits.chars().last()? {
        'K' => (&digits[..digits.len() - 1], 10),
        'M' => (&digits[..digits.len() - 1], 20),
        'G' => (&digits[..digits.len() - 1], 30),
        'T' => (&digits[..digits.len() - 1], 40),
        _ => (digits, 0),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = number.parse().ok()?;
    value.checked_mul(1 << shift).map(Amount::Limited)
}

/// `0.5` CPUs: a quota of 50000 µs per 100000 µs period.
pub fn parse_cpus(text: &str) -> Option<u64> {
    let cpus: f64 = text.trim().parse().ok()?;
    if !(0.01..=1_000_000.0).contains(&cpus) {
        return None;
    }
    Some((cpus * CPU_PERIOD_US as f64).round() as u64)
}

fn parse_weight(text: &str) -> Option<u16> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|w| (1..=10000).contains(w))
}

impl Resources {
    /// Check `flags`; `origin` names where a value came from (`--memory`, `limits.memory`).
    pub fn parse(
        flags: &ResourceFlags,
        origin: impl Fn(&'static str) -> String,
    ) -> Result<Resources, ResourceError> {
        fn check<T>(
            value: &Option<String>,
            name: &'static str,
            expected: &'static str,
            parse: impl Fn(&str) -> Option<T>,
            origin: &dyn Fn(&'static str) -> String,
        ) -> Result<Option<T>, ResourceError> {
            value
                .as_deref()
                .map(|v| {
                    parse(v).ok_or_else(|| ResourceError {
                        origin: origin(name),
                        value: v.to_owned(),
                        expected,
                    })
                })
                .transpose()
        }
        let origin: &dyn Fn(&'static str) -> String = &origin;
        let nonzero_size = |v: &str| parse_size(v).filter(|a| *a != Amount::Limited(0));
        let count = |v: &str| match v.trim() {
            "max" | "unlimited" => Some(Amount::Max),
            n => n
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Amount::Limited),
        };
        Ok(Resources {
            memory: check(&flags.memory, "memory", SIZE, nonzero_size, origin)?,
            memory_swap: check(&flags.memory_swap, "memory-swap", SWAP, parse_size, origin)?,
            pids: check(&flags.pids, "pids", COUNT, count, origin)?,
            cpu_quota_us: check(&flags.cpus, "cpus", CPUS, parse_cpus, origin)?,
            cpu_weight: check(
                &flags.cpu_weight,
                "cpu-weight",
                WEIGHT,
                parse_weight,
                origin,
            )?,
            io_weight: check(&flags.io_weight, "io-weight", WEIGHT, parse_weight, origin)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }

    /// The controllers these limits need, each with the flag that needs it first.
    pub fn controllers(&self) -> Vec<(&'static str, &'static str)> {
        let mut needed = Vec::new();
        if self.memory.is_some() {
            needed.push(("memory", "--memory"));
        } else if self.memory_swap.is_some() {
            needed.push(("memory", "--memory-swap"));
        }
        if self.pids.is_some() {
            needed.push(("pids", "--pids"));
        }
        if self.cpu_quota_us.is_some() {
            needed.push(("cpu", "--cpus"));
        } else if self.cpu_weight.is_some() {
            needed.push(("cpu", "--cpu-weight"));
        }
        if self.io_weight.is_some() {
            needed.push(("io", "--io-weight"));
        }
        needed
    }

    /// The interface files a sandbox's leaf gets, in the order they are written.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut files = Vec::new();
        if let Some(memory) = self.memory {
            files.push(("memory.max", memory.render()));
        }
        if self.memory.is_some() || self.memory_swap.is_some() {
            // The whole sandbox is one workload: an OOM kill takes all of it, never leaving
            // half a process tree running (memory.oom.group, cgroup-v2.rst).
            files.push(("memory.oom.group", "1".into()));
        }
        if let Some(swap) = self.memory_swap {
            files.push(("memory.swap.max", swap.render()));
        }
        if let Some(pids) = self.pids {
            files.push(("pids.max", pids.render()));
        }
        if let Some(quota) = self.cpu_quota_us {
            files.push(("cpu.max", format!("{quota} {CPU_PERIOD_US}")));
        }
        if let Some(weight) = self.cpu_weight {
            files.push(("cpu.weight", weight.to_string()));
        }
        if let Some(weight) = self.io_weight {
            files.push(("io.weight", format!("default {weight}")));
        }
        files
    }
}

impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .files()
            .into_iter()
            .filter(|(name, _)| *name != "memory.oom.group")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

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

/// The directory of `cgroup` (a path in the hierarchy) under `mount`.
pub fn directory(mount: &Cgroup2Mount, cgroup: &str) -> PathBuf {
    let relative = Path::new(cgroup)
        .strip_prefix(&mount.root)
        .unwrap_or(Path::new(cgroup));
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    mount.mount_point.join(relative)
}

/// The controllers listed in `dir/cgroup.controllers` (none when unreadable).
pub fn controllers(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Whether `path` belongs to `uid` and is writable by its owner.
pub fn owned(path: &Path, uid: u32) -> std::io::Result<bool> {
    let meta = std::fs::metadata(path)?;
    Ok(meta.uid() == uid && meta.mode() & 0o200 != 0)
}

/// Where the facts about this process's cgroup are read: the seam for tests.
#[derive(Debug, Clone)]
pub struct CgroupHost {
    pub mountinfo: PathBuf,
    pub proc_cgroup: PathBuf,
    pub uid: u32,
    pub pid: u32,
}

impl CgroupHost {
    pub fn current() -> CgroupHost {
        CgroupHost {
            mountinfo: "/proc/self/mountinfo".into(),
            proc_cgroup: "/proc/self/cgroup".into(),
            uid: nix::unistd::geteuid().as_raw(),
            pid: std::process::id(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{flag} needs cgroup v2, and this host has none mounted (cgroup v1 only)")]
    NoV2 { flag: &'static str },
    #[error(
        "{flag} needs the {controller} controller of cgroup v2, and the cgroup v2 hierarchy at {} \
         does not hold it (cgroup v1 does: a hybrid host)",
        mount.display()
    )]
    NotOnV2 {
        flag: &'static str,
        controller: &'static str,
        mount: PathBuf,
    },
    #[error("{flag} needs cgroup v2, and this process is in no cgroup v2 (no `0::` line in /proc/self/cgroup)")]
    NoOwnCgroup { flag: &'static str },
    #[error("{flag} needs a cgroup delegated to you, and {} is not ({why})", cgroup.display())]
    NotDelegated {
        flag: &'static str,
        cgroup: PathBuf,
        why: String,
    },
    #[error(
        "{flag} needs a cgroup of hutch's own, and {} also holds other processes ({others})",
        cgroup.display()
    )]
    Shared {
        flag: &'static str,
        cgroup: PathBuf,
        others: String,
    },
    #[error(
        "{flag} needs the {controller} controller, and it is not delegated to you (not in {})",
        path.display()
    )]
    NotDelegatedController {
        flag: &'static str,
        controller: &'static str,
        path: PathBuf,
    },
    #[error(
        "cannot put the command into the environment's cgroup {} (its limits would not hold)",
        cgroup.display()
    )]
    Join {
        cgroup: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start hutch again in a systemd scope of its own ({program})")]
    Scope {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot start hutch again in a systemd scope of its own: {program} {status} before \
         it started hutch"
    )]
    ScopeRefused { program: String, status: String },
}

impl CgroupError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CgroupError::NoV2 { .. }
            | CgroupError::NotOnV2 { .. }
            | CgroupError::NoOwnCgroup { .. } => {
                "limits need the unified cgroup v2 hierarchy: boot with \
                 `systemd.unified_cgroup_hierarchy=1` (the default since systemd 247); leave \
                 out the limit flags to run without limits"
                    .into()
            }
            CgroupError::NotDelegated { .. }
            | CgroupError::Shared { .. }
            | CgroupError::Join { .. } => {
                "run hutch from a systemd user session (hutch then asks for a scope with \
                 `systemd-run --user --scope -p Delegate=yes` itself), or start it in a unit or \
                 scope with Delegate=yes"
                    .into()
            }
            CgroupError::NotDelegatedController { controller, .. } => format!(
                "have systemd delegate it to user managers: create {DROP_IN} with \
                 `{DROP_IN_TEXT}`, then `sudo systemctl daemon-reload` and log in again \
                 (the {controller} controller is delegated by default only from systemd 252)"
            ),
            CgroupError::ScopeRefused { program, .. } => format!(
                "{program} says why above; `systemctl --user status` shows whether your user \
                 manager runs. Or start hutch where its cgroup is delegated already (a unit with \
                 Delegate=yes)"
            ),
            CgroupError::Scope { .. } => {
                "systemd-run (systemd) and a running user manager (`systemctl --user`) are needed"
                    .into()
            }
            CgroupError::Io { .. } => return None,
        })
    }

    /// Whether a scope of its own (see [`scope_command`]) would give hutch what it lacks.
    pub fn needs_scope(&self) -> bool {
        match self {
            CgroupError::NotDelegated { .. } | CgroupError::Shared { .. } => true,
            // Moving a process needs write access to cgroup.procs of the common ancestor of
            // both cgroups (cgroups(7)): from a scope of the user's own, not from a session's.
            CgroupError::Join { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::EACCES) | Some(libc::EPERM)
            ),
            _ => false,
        }
    }
}

fn io_error<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// A cgroup delegated to this user, where hutch may make leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegated {
    /// The base cgroup's directory.
    pub base: PathBuf,
    /// Whether this process already sits in the base's [`LAUNCHER`] leaf.
    pub entered: bool,
}

/// Find the delegated cgroup hutch may use for limits that need `needed` (controller, flag).
pub fn find(
    host: &CgroupHost,
    needed: &[(&'static str, &'static str)],
) -> Result<Delegated, CgroupError> {
    // Without limits, a cgroup is wanted for an image's systemd (`SandboxSpec::own_cgroup`).
    let flag = needed
        .first()
        .map_or("an image's systemd (--init system)", |(_, flag)| *flag);
    let mountinfo = std::fs::read_to_string(&host.mountinfo).unwrap_or_default();
    let mount = find_cgroup2(&mountinfo).ok_or(CgroupError::NoV2 { flag })?;
    let in_hierarchy = controllers(&mount.mount_point);
    // A hybrid host has a cgroup2 mount whose root holds no controllers at all; a container's
    // root shows what its cgroup got.
    for &(controller, flag) in needed {
        if !in_hierarchy.iter().any(|c| c == controller) {
            return Err(CgroupError::NotOnV2 {
                flag,
                controller,
                mount: mount.mount_point.clone(),
            });
        }
    }
    let proc_cgroup = std::fs::read_to_string(&host.proc_cgroup).unwrap_or_default();
    let own = own_cgroup(&proc_cgroup).ok_or(CgroupError::NoOwnCgroup { flag })?;
    let dir = directory(&mount, own);
    let (base, entered) = match dir.file_name() {
        Some(name) if name == LAUNCHER => (dir.parent().unwrap_or(&dir).to_owned(), true),
        _ => (dir, false),
    };
    for file in [
        base.clone(),
        base.join("cgroup.procs"),
        base.join("cgroup.subtree_control"),
    ] {
        let why = match owned(&file, host.uid) {
            Ok(true) => continue,
            Ok(false) => format!("{} is not yours to write", file.display()),
            Err(e) => format!("{}: {e}", file.display()),
        };
        return Err(CgroupError::NotDelegated {
            flag,
            cgroup: base,
            why,
        });
    }
    let delegated = controllers(&base);
    for &(controller, flag) in needed {
        if !delegated.iter().any(|c| c == controller) {
            return Err(CgroupError::NotDelegatedController {
                flag,
                controller,
                path: base.join("cgroup.controllers"),
            });
        }
    }
    if !entered {
        let procs = std::fs::read_to_string(base.join("cgroup.procs"))
            .map_err(io_error("read", &base.join("cgroup.procs")))?;
        let others: Vec<&str> = procs
            .split_whitespace()
            .filter(|pid| *pid != host.pid.to_string())
            .collect();
        if !others.is_empty() {
            return Err(CgroupError::Shared {
                flag,
                cgroup: base,
                others: format!("pids {}", others.join(", ")),
            });
        }
    }
    Ok(Delegated { base, entered })
}

pub fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    // One write(2) per value: the kernel parses each write as a whole.
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(io_error("write", path))
}

impl Delegated {
    /// Move this process (`pid`) into the [`LAUNCHER`] leaf, enable the `needed` controllers
    /// for the base's children, and sweep the empty leaves of sandboxes whose hutch was killed.
    pub fn enter(
        &mut self,
        pid: u32,
        needed: &[(&'static str, &'static str)],
    ) -> Result<(), CgroupError> {
        if !self.entered {
            let launcher = self.base.join(LAUNCHER);
            match std::fs::create_dir(&launcher) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(io_error("create", &launcher)(e))
                }
                _ => {}
            }
            write_file(&launcher.join("cgroup.procs"), &pid.to_string())?;
            self.entered = true;
        }
        let control = self.base.join("cgroup.subtree_control");
        let enabled = std::fs::read_to_string(&control).unwrap_or_default();
        for (controller, _) in needed {
            if !enabled.split_whitespace().any(|c| c == *controller) {
                write_file(&control, &format!("+{controller}"))?;
            }
        }
        self.sweep();
        Ok(())
    }

    /// Remove sandbox leaves nothing runs in any more (their hutch died by SIGKILL).
    fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.base) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(SANDBOX_PREFIX) && !populated(&entry.path()) {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }

    /// A new leaf for the sandbox launched by `pid`, with `resources` written to it.
    pub fn create_leaf(&self, pid: u32, resources: &Resources) -> Result<Leaf, CgroupError> {
        let path = self.base.join(format!("{SANDBOX_PREFIX}{pid}"));
        if path.exists() {
            // Left by this supervisor's previous start of the environment.
            remove(&path);
        }
        std::fs::create_dir(&path).map_err(io_error("create", &path))?;
        // Removed again if a step below fails.
        let mut leaf = Leaf { dir: None, path };
        apply(&leaf.path, resources)?;
        let dir = std::fs::File::open(&leaf.path).map_err(io_error("open", &leaf.path))?;
        leaf.dir = Some(dir.into());
        Ok(leaf)
    }
}

/// Move the process `pid` into the cgroup at `path` (a running environment's, for the commands
/// `hutch exec` runs there: they live under its limits too).
pub fn join(path: &Path, pid: u32) -> Result<(), CgroupError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path.join("cgroup.procs"))
        .and_then(|mut f| f.write_all(pid.to_string().as_bytes()))
        .map_err(|source| CgroupError::Join {
            cgroup: path.to_owned(),
            source,
        })
}

/// Write `resources` to the cgroup at `path` (also a running environment's, by `hutch update`).
pub fn apply(path: &Path, resources: &Resources) -> Result<(), CgroupError> {
    for (file, value) in resources.files() {
        write_file(&path.join(file), &value)?;
    }
    Ok(())
}

fn populated(path: &Path) -> bool {
    std::fs::read_to_string(path.join("cgroup.events"))
        .map(|events| events.lines().any(|l| l == "populated 1"))
        .unwrap_or(false)
}

/// SIGKILL everything in the cgroup at `path` (cgroup.kill, Linux 5.14), without waiting.
pub fn kill(path: &Path) {
    let _ = write_file(&path.join("cgroup.kill"), "1");
}

/// Kill everything in the cgroup at `path` and remove it, waiting (up to 2 s) for the kernel to
/// finish the kill.
pub fn remove(path: &Path) {
    // cgroup.kill (Linux 5.14) SIGKILLs every process in it at once, also ones forked
    // meanwhile; before it, each listed process is killed until none is left.
    let kill = path.join("cgroup.kill");
    let killed = kill.exists() && write_file(&kill, "1").is_ok();
    // cgroup.events reports `populated 0` once the last process has left, and wakes a poll(2)
    // for POLLPRI when it changes (cgroup-v2.rst): no sleeping in steps.
    let events = std::fs::File::open(path.join("cgroup.events")).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if !killed {
            for pid in std::fs::read_to_string(path.join("cgroup.procs"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let _ = crate::sys::kill(nix::unistd::Pid::from_raw(pid), libc::SIGKILL);
            }
        }
        // An init inside that manages its subtree (systemd) leaves cgroups of its own there;
        // a cgroup with children cannot be removed.
        remove_children(path);
        match std::fs::remove_dir(path) {
            Ok(()) => {
                tracing::debug!(path = %path.display(), "cgroup removed");
                return;
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "cannot remove a cgroup");
                return;
            }
        }
        if std::time::Instant::now() > deadline {
            tracing::debug!(path = %path.display(), "a cgroup stayed populated");
            return;
        }
        wait_for_change(events.as_ref());
    }
}

/// Remove the (emptied) cgroups below `path`, deepest first; what is still busy stays.
fn remove_children(path: &Path) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_children(&entry.path());
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Wait until `events` (a cgroup.events) changes, for at most 10 ms.
fn wait_for_change(events: Option<&std::fs::File>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    match events {
        Some(events) => {
            use std::io::{Read, Seek};
            let mut fds = [PollFd::new(events.as_fd(), PollFlags::POLLPRI)];
            let _ = poll(&mut fds, PollTimeout::from(10u8));
            // Reading re-arms the notification (kernfs keeps an event count per open file).
            let mut events = events;
            let mut text = [0u8; 128];
            let _ = events.rewind().and_then(|()| events.read(&mut text));
        }
        None => std::thread::sleep(std::time::Duration::from_millis(1)),
    }
}

/// A sandbox's leaf cgroup; killed and removed when dropped.
#[derive(Debug)]
pub struct Leaf {
    dir: Option<OwnedFd>,
    pub path: PathBuf,
}

impl Leaf {
    /// The leaf's directory, for clone3(CLONE_INTO_CGROUP).
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.dir.as_ref().expect("an open leaf").as_fd()
    }

    /// How many processes the OOM killer took because of the leaf's memory limit.
    pub fn oom_kills(&self) -> u64 {
        read_usage(&self.path).oom_kills.unwrap_or(0)
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        remove(&self.path);
    }
}

/// Use against limits, as `hutch status` shows it (the numbers OpenVZ users read from
/// /proc/user_beancounters). `None`: the file is absent (controller not enabled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub memory_current: Option<u64>,
    /// `None` with the memory controller absent; `Some(None)` for no limit (`max`).
    pub memory_max: Option<Option<u64>>,
    pub pids_current: Option<u64>,
    pub pids_max: Option<Option<u64>>,
    pub cpu_usage_usec: Option<u64>,
    pub oom_kills: Option<u64>,
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn read_max(path: &Path) -> Option<Option<u64>> {
    let text = std::fs::read_to_string(path).ok()?;
    match text.trim() {
        "max" => Some(None),
        n => n.parse().ok().map(Some),
    }
}

fn read_key(path: &Path, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

/// Read the use of the cgroup at `path`.
pub fn read_usage(path: &Path) -> Usage {
    Usage {
        memory_current: read_number(&path.join("memory.current")),
        memory_max: read_max(&path.join("memory.max")),
        pids_current: read_number(&path.join("pids.current")),
        pids_max: read_max(&path.join("pids.max")),
        cpu_usage_usec: read_key(&path.join("cpu.stat"), "usage_usec"),
        oom_kills: read_key(&path.join("memory.events"), "oom_kill"),
    }
}

/// A byte count as a person reads it: 64.0M.
pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

mod scope;
pub use scope::{
    run_in_scope, say_arrived_in_scope, scope_command, user_manager_reachable, IN_SCOPE_VAR,
};

#[cfg(test)]
mod tests;
