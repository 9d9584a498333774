//! A bundle's config.json (OCI runtime-spec) mapped onto hutch's own plan: the mount list
//! ([`MountOp`]s, which `mounts::build_root` applies and `landlock::rules` reads), the
//! namespaces to make or join, the id maps, the process's credentials and limits, and the
//! seccomp program.
//!
//! Every field of the spec is either carried out or refused by name: a field the oci-spec
//! crate does not know ([`unknown_fields`]) or one hutch does not implement fails `create`, so
//! that no container runs with less isolation than its engine asked for. [`plan`] is pure: the
//! facts it needs about the host come in as [`HostFacts`].

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Component, Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{
    Hook, LinuxCapabilities, LinuxIdMapping, LinuxNamespaceType, Mount as OciMount, Spec,
};
use serde_json::Value;

use crate::caps::CapSet;
use crate::idmap::{IdMap, IdMapEntry};
use crate::landlock::LandlockMode;
use crate::limits::{self, Limit};
use crate::mounts::{Access, MountOp};
use crate::sys::mount_attr;

/// Annotation that turns Landlock off for one container (`off`); anything else keeps it on.
pub const LANDLOCK_ANNOTATION: &str = "run.hutch.landlock";
/// Annotation that stacks hutch's own seccomp deny-list under the engine's profile (`stack`).
pub const SECCOMP_ANNOTATION: &str = "run.hutch.seccomp";

/// Device nodes every container gets when its /dev is a tmpfs (runtime-spec, "Default
/// Devices"), bound from the host: a rootless runtime cannot make device nodes.
const DEFAULT_DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid runtime config", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("config.json: unknown field `{field}`")]
    UnknownField { field: String },
    #[error("config.json: `{field}` is not supported by hutch-oci: {why}")]
    Unsupported { field: String, why: String },
    #[error("config.json: `{field}`: {why}")]
    Invalid { field: String, why: String },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::UnknownField { .. } => Some(
                "hutch-oci refuses what it does not understand rather than ignore it; check the \
                 spelling against the runtime-spec, or remove the field"
                    .into(),
            ),
            ConfigError::Unsupported { .. } => Some(
                "remove the field from the container's configuration (or the engine option that \
                 sets it), or run this container with another runtime"
                    .into(),
            ),
            _ => None,
        }
    }

    pub(super) fn unsupported(field: impl Into<String>, why: impl Into<String>) -> ConfigError {
        ConfigError::Unsupported {
            field: field.into(),
            why: why.into(),
        }
    }

    pub(super) fn invalid(field: impl Into<String>, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            why: why.into(),
        }
    }
}

/// What [`plan`] needs to know about the host.
#[derive(Debug, Clone, Copy)]
pub struct HostFacts {
    pub euid: u32,
    pub egid: u32,
    /// /sys/fs/cgroup is a cgroup2 file system (not cgroup v1 or a hybrid tree).
    pub cgroup2: bool,
    /// How many gids from 0 up exist in the user namespace we run in (all of them in the
    /// initial one; one under `unshare -Ur`).
    pub gids_here: u32,
}

impl HostFacts {
    pub fn current() -> HostFacts {
        let cgroup2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
        HostFacts {
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
            cgroup2,
            gids_here: std::fs::read_to_string("/proc/self/gid_map")
                .map(|map| contiguous_from_zero(&map))
                .unwrap_or(u32::MAX),
        }
    }
}

/// How many ids from 0 up a uid_map or gid_map maps without a gap.
fn contiguous_from_zero(map: &str) -> u32 {
    let mut ranges: Vec<(u64, u64)> = map
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
            let inside = fields.next()??;
            let _outside = fields.next()??;
            Some((inside, fields.next()??))
        })
        .collect();
    ranges.sort_unstable();
    let mut end = 0u64;
    for (start, count) in ranges {
        if start > end {
            break;
        }
        end = end.max(start + count);
    }
    end.min(u64::from(u32::MAX)) as u32
}

/// The capability sets of the container's process (capabilities(7)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub bounding: CapSet,
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
    pub ambient: CapSet,
}

/// The container's process (or one `exec` starts).
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub capabilities: Capabilities,
    pub rlimits: Vec<Limit>,
    pub no_new_privileges: bool,
    pub terminal: bool,
    /// Rows and columns of the terminal.
    pub console_size: Option<(u16, u16)>,
    pub oom_score_adj: Option<i32>,
    /// Descriptors from 3 on that the engine passes to the process (`--preserve-fds N`).
    pub preserve_fds: u32,
}

/// The container's user namespace maps, as written to /proc/PID/{uid,gid}_map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: IdMap,
    pub gid: IdMap,
}

/// One hook (runtime-spec "POSIX-platform Hooks").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookPlan {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// `prestart` (deprecated) and `createRuntime`, in that order: run by `create` once the
    /// container's namespaces exist.
    pub create_runtime: Vec<HookPlan>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
}

/// Which seccomp programs the container's process gets.
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    /// The engine's profile (`linux.seccomp`), compiled.
    pub engine: Option<seccompiler::BpfProgram>,
    /// hutch's own deny-list: without an engine profile, or stacked under it on request.
    pub hutch: Option<seccompiler::BpfProgram>,
}

/// Everything `create` carries out for one container.
#[derive(Debug, Clone)]
pub struct ContainerPlan {
    pub process: ProcessPlan,
    pub hostname: Option<String>,
    /// Namespaces the container's init is cloned into.
    pub new_namespaces: CloneFlags,
    /// Namespaces joined by path (setns(2)) before the clone.
    pub joined: Vec<(CloneFlags, PathBuf)>,
    /// The maps of a new user namespace; `None` without one.
    pub id_maps: Option<IdMaps>,
    pub mount_ops: Vec<MountOp>,
    pub sysctl: Vec<(String, String)>,
    pub seccomp: SeccompPlan,
    pub landlock: LandlockMode,
    pub hooks: Hooks,
    pub annotations: BTreeMap<String, String>,
    /// What did not stop the container but changed what it gets.
    pub warnings: Vec<String>,
    /// `linux.resources` as cgroup v2 writes.
    pub cgroup_writes: Vec<super::resources::Write>,
    /// `linux.cgroupsPath` as given.
    pub cgroups_path: Option<String>,
}

/// Read and parse `bundle/config.json`: the typed spec and the raw JSON (for
/// [`unknown_fields`]).
pub fn load(path: &Path) -> Result<(Spec, Value), ConfigError> {
    let text = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse = |source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    };
    let raw: Value = serde_json::from_slice(&text).map_err(parse)?;
    let spec: Spec = serde_json::from_value(raw.clone()).map_err(parse)?;
    Ok((spec, raw))
}

/// The fields of `raw` that the typed `spec` did not take up: serde skips unknown fields, so
/// what does not come back when the spec is written out again was not understood. Empty values
/// (null, [], {}) say nothing and are not reported.
pub fn unknown_fields(spec: &Spec, raw: &Value) -> Vec<String> {
    let known = serde_json::to_value(spec).unwrap_or(Value::Null);
    let mut out = Vec::new();
    compare("", raw, &known, &mut out);
    out
}

fn compare(at: &str, raw: &Value, known: &Value, out: &mut Vec<String>) {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match (raw, known) {
        (Value::Object(raw), Value::Object(known)) => {
            for (key, value) in raw {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match known.get(key) {
                    Some(k) => compare(&path, value, k, out),
                    None if empty(value) => {}
                    None => out.push(path),
                }
            }
        }
        (Value::Array(raw), Value::Array(known)) if raw.len() == known.len() => {
            for (i, (r, k)) in raw.iter().zip(known).enumerate() {
                compare(&format!("{at}[{i}]"), r, k, out);
            }
        }
        _ => {}
    }
}

/// Map `spec` (from the bundle `bundle`, absolute) onto hutch's plan.
pub fn plan(
    spec: &Spec,
    raw: &Value,
    bundle: &Path,
    host: HostFacts,
) -> Result<ContainerPlan, ConfigError> {
    if let Some(field) = unknown_fields(spec, raw).into_iter().next() {
        return Err(ConfigError::UnknownField { field });
    }
    if !spec.version().starts_with("1.") {
        return Err(ConfigError::invalid(
            "ociVersion",
            format!("{:?} is not a 1.x runtime-spec version", spec.version()),
        ));
    }
    for (field, present) in [
        ("solaris", spec.solaris().is_some()),
        ("windows", spec.windows().is_some()),
        ("vm", spec.vm().is_some()),
        ("zos", spec.zos().is_some()),
    ] {
        if present {
            return Err(ConfigError::unsupported(field, "not a Linux container"));
        }
    }
    if spec.domainname().as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(ConfigError::unsupported(
            "domainname",
            "the NIS domain name is not set by hutch",
        ));
    }
    let mut warnings = Vec::new();
    let annotations: BTreeMap<String, String> = spec
        .annotations()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let linux = spec
        .linux()
        .clone()
        .ok_or_else(|| ConfigError::invalid("linux", "a Linux container needs this section"))?;
    for (field, present) in [
        ("linux.intelRdt", linux.intel_rdt().is_some()),
        ("linux.memoryPolicy", linux.memory_policy().is_some()),
        ("linux.personality", linux.personality().is_some()),
        ("linux.timeOffsets", linux.time_offsets().is_some()),
        ("linux.netDevices", linux.net_devices().is_some()),
        (
            "linux.mountLabel",
            linux
                .mount_label()
                .as_deref()
                .is_some_and(|l| !l.is_empty()),
        ),
    ] {
        if present {
            return Err(ConfigError::unsupported(
                field,
                "hutch-oci does not implement it",
            ));
        }
    }
    match linux.rootfs_propagation().as_deref() {
        None | Some("" | "private" | "rprivate") => {}
        Some(other) => {
            return Err(ConfigError::unsupported(
                "linux.rootfsPropagation",
                format!(
                    "{other:?}: the container's mounts are always private (nothing propagates \
                     between it and the host)"
                ),
            ))
        }
    }
    // Converted here, placed by `create` (`super::cgroup`), which knows whether cgroup v2 can
    // be used.
    let cgroup_writes = match linux.resources() {
        Some(resources) => super::resources::writes(resources)?,
        None => Vec::new(),
    };
    let cgroups_path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());

    // Namespaces.
    let mut new_namespaces = CloneFlags::empty();
    let mut joined = Vec::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let field = format!("linux.namespaces[{i}]");
        let flag = match ns.typ() {
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
            LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::Time => {
                return Err(ConfigError::unsupported(
                    field,
                    "time namespaces are not implemented",
                ))
            }
        };
        if new_namespaces.contains(flag) || joined.iter().any(|(f, _)| *f == flag) {
            return Err(ConfigError::invalid(field, "namespace listed twice"));
        }
        match ns.path() {
            None => new_namespaces |= flag,
            Some(path) => {
                if matches!(
                    ns.typ(),
                    LinuxNamespaceType::Mount | LinuxNamespaceType::User
                ) {
                    return Err(ConfigError::unsupported(
                        format!("{field}.path"),
                        "joining an existing mount or user namespace is not implemented",
                    ));
                }
                joined.push((flag, path.clone()));
            }
        }
    }
    if !new_namespaces.contains(CloneFlags::CLONE_NEWNS) {
        return Err(ConfigError::unsupported(
            "linux.namespaces",
            "a container without a mount namespace of its own: hutch builds every root in one",
        ));
    }

    // Id maps: the engine's; or, unprivileged without a user namespace in the spec, one of our
    // own mapping the process's ids to ours (the only ids we may map without a helper).
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("process", "a container needs a process"))?;
    let id_maps = if new_namespaces.contains(CloneFlags::CLONE_NEWUSER) {
        let uid = id_map("linux.uidMappings", linux.uid_mappings())?;
        let gid = id_map("linux.gidMappings", linux.gid_mappings())?;
        Some(IdMaps { uid, gid })
    } else {
        if linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(ConfigError::invalid(
                "linux.uidMappings",
                "id mappings without a user namespace in linux.namespaces",
            ));
        }
        if host.euid != 0 {
            new_namespaces |= CloneFlags::CLONE_NEWUSER;
            let one = |inside, outside| IdMap {
                entries: vec![IdMapEntry {
                    inside,
                    outside,
                    count: 1,
                }],
            };
            Some(IdMaps {
                uid: one(process.user().uid(), host.euid),
                gid: one(process.user().gid(), host.egid),
            })
        } else {
            None
        }
    };

    let process_plan = process_plan(process, "process")?;
    let hostname = match spec.hostname().as_deref() {
        None | Some("") => None,
        Some(name) if !new_namespaces.contains(CloneFlags::CLONE_NEWUTS) => {
            return Err(ConfigError::invalid(
                "hostname",
                format!("{name:?} needs a uts namespace of the container's own"),
            ))
        }
        Some(name) => Some(name.to_owned()),
    };

    // The root and the mounts.
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("root", "a container needs a root file system"))?;
    let root_path = absolute_in(bundle, root.path());
    if !root_path.is_dir() {
        return Err(ConfigError::invalid(
            "root.path",
            format!("{} is not a directory", root_path.display()),
        ));
    }
    let mut ops = vec![MountOp::BindWith {
        src: root_path,
        dst: "/".into(),
        recursive: true,
        attrs: mount_attr::NODEV,
    }];
    // devpts' `gid=` (5, tty) must exist in the container's user namespace: with one id mapped
    // (a rootless runtime's own namespace, `unshare -Ur`) it does not, and runc drops it too.
    let gid_exists = |gid: u32| match &id_maps {
        Some(maps) => maps
            .gid
            .entries
            .iter()
            .any(|e| gid >= e.inside && gid - e.inside < e.count),
        None => gid < host.gids_here,
    };
    let mut dev_is_tmpfs = false;
    for (i, mount) in spec.mounts().iter().flatten().enumerate() {
        let field = format!("mounts[{i}]");
        if let Some(op) = mount_op(
            mount,
            &field,
            bundle,
            host,
            new_namespaces,
            &joined,
            &mut warnings,
        )? {
            let op = match op {
                MountOp::FileSystem {
                    fstype,
                    dst,
                    mut options,
                    attrs,
                } if fstype == "devpts" => {
                    options.retain(|(key, value)| {
                        let unmapped = key == "gid"
                            && value
                                .as_deref()
                                .and_then(|v| v.parse().ok())
                                .is_some_and(|gid| !gid_exists(gid));
                        if unmapped {
                            warnings.push(format!(
                                "{field}: devpts option gid={} dropped: that group is not mapped \
                                 in the container",
                                value.as_deref().unwrap_or_default()
                            ));
                        }
                        !unmapped
                    });
                    MountOp::FileSystem {
                        fstype,
                        dst,
                        options,
                        attrs,
                    }
                }
                op => op,
            };
            if mount.destination() == Path::new("/dev")
                && matches!(&op, MountOp::FileSystem { fstype, .. } if fstype == "tmpfs")
            {
                dev_is_tmpfs = true;
            }
            ops.push(op);
        }
    }
    if dev_is_tmpfs {
        for name in DEFAULT_DEVICES {
            ops.push(MountOp::Bind {
                src: Path::new("/dev").join(name),
                dst: Path::new("/dev").join(name),
                access: Access::Device,
            });
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
            ("ptmx", "pts/ptmx"),
        ] {
            ops.push(MountOp::Symlink {
                target: target.into(),
                link: Path::new("/dev").join(name),
            });
        }
    }
    for (i, device) in linux.devices().iter().flatten().enumerate() {
        let field = format!("linux.devices[{i}]");
        let path = device.path();
        if !path.is_absolute() {
            return Err(ConfigError::invalid(field, "the path must be absolute"));
        }
        if !path.exists() {
            return Err(ConfigError::unsupported(
                field,
                format!(
                    "{} does not exist on the host; a rootless runtime cannot make device \
                     nodes, only bind the host's",
                    path.display()
                ),
            ));
        }
        ops.push(MountOp::Bind {
            src: path.clone(),
            dst: path.clone(),
            access: Access::Device,
        });
    }
    for (i, path) in linux.masked_paths().iter().flatten().enumerate() {
        ops.push(MountOp::Mask {
            dst: container_path(&format!("linux.maskedPaths[{i}]"), Path::new(path))?,
        });
    }
    for (i, path) in linux.readonly_paths().iter().flatten().enumerate() {
        ops.push(MountOp::ReadOnly {
            dst: container_path(&format!("linux.readonlyPaths[{i}]"), Path::new(path))?,
        });
    }
    if root.readonly() == Some(true) {
        ops.push(MountOp::ReadOnly { dst: "/".into() });
    }

    let sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    for (key, _) in &sysctl {
        if key.contains('/') || key.split('.').any(|part| part.is_empty() || part == "..") {
            return Err(ConfigError::invalid(
                format!("linux.sysctl.{key}"),
                "not a sysctl name",
            ));
        }
    }

    let stack = annotations.get(SECCOMP_ANNOTATION).map(String::as_str) == Some("stack");
    let engine = match linux.seccomp() {
        Some(profile) => Some(super::seccomp::compile(profile)?),
        None => None,
    };
    let hutch = if engine.is_none() || stack {
        let policy = crate::seccomp::policy(&[], &[], &[]).map_err(|e| {
            ConfigError::invalid("linux.seccomp", format!("hutch's deny-list: {e}"))
        })?;
        Some(crate::seccomp::compile(&policy).map_err(|e| {
            ConfigError::invalid("linux.seccomp", format!("hutch's deny-list: {e}"))
        })?)
    } else {
        None
    };
    let landlock = match annotations.get(LANDLOCK_ANNOTATION).map(String::as_str) {
        Some("off") => LandlockMode::Off,
        Some("require") => LandlockMode::Require,
        None | Some("on" | "best-effort") => LandlockMode::BestEffort,
        Some(other) => {
            return Err(ConfigError::invalid(
                format!("annotations.{LANDLOCK_ANNOTATION}"),
                format!("{other:?} is not one of off, best-effort, require"),
            ))
        }
    };

    Ok(ContainerPlan {
        process: process_plan,
        hostname,
        new_namespaces,
        joined,
        id_maps,
        mount_ops: ops,
        sysctl,
        seccomp: SeccompPlan { engine, hutch },
        landlock,
        hooks: hooks(spec)?,
        annotations,
        warnings,
        cgroup_writes,
        cgroups_path,
    })
}

/// The Landlock rules for the plan's mounts (`landlock::rules`), with what the plan makes
/// read-only afterwards (`root.readonly`, `readonlyPaths`) granted read and execute only: the
/// root is bound writable so that mount points can be made in it, and read-only at the end.
pub fn landlock_rules(plan: &ContainerPlan) -> Vec<crate::landlock::PathRule> {
    let mut rules = crate::landlock::rules(&plan.mount_ops);
    for op in &plan.mount_ops {
        if let MountOp::ReadOnly { dst } = op {
            for rule in rules.iter_mut().filter(|r| &r.path == dst) {
                rule.grant = crate::landlock::Grant::ReadExecute;
            }
        }
    }
    rules
}

fn id_map(field: &str, mappings: &Option<Vec<LinuxIdMapping>>) -> Result<IdMap, ConfigError> {
    let entries: Vec<IdMapEntry> = mappings
        .iter()
        .flatten()
        .map(|m| IdMapEntry {
            inside: m.container_id(),
            outside: m.host_id(),
            count: m.size(),
        })
        .collect();
    if entries.is_empty() {
        return Err(ConfigError::invalid(
            field,
            "a user namespace needs at least one mapping",
        ));
    }
    if entries.iter().any(|e| e.count == 0) {
        return Err(ConfigError::invalid(field, "a mapping of size 0"));
    }
    Ok(IdMap { entries })
}

/// `process` (or an `exec`'s process.json) as hutch applies it.
pub fn process_plan(
    process: &oci_spec::runtime::Process,
    field: &str,
) -> Result<ProcessPlan, ConfigError> {
    let unsupported =
        |name: &str, why: &str| ConfigError::unsupported(format!("{field}.{name}"), why);
    if process.command_line().is_some() {
        return Err(unsupported("commandLine", "a Windows field"));
    }
    if process.user().username().is_some() {
        return Err(unsupported("user.username", "a Windows field"));
    }
    if process
        .apparmor_profile()
        .as_deref()
        .is_some_and(|p| !p.is_empty())
        && apparmor_enabled()
    {
        return Err(unsupported(
            "apparmorProfile",
            "AppArmor profiles are not applied by hutch-oci",
        ));
    }
    if process
        .selinux_label()
        .as_deref()
        .is_some_and(|l| !l.is_empty())
        && selinux_enabled()
    {
        return Err(unsupported(
            "selinuxLabel",
            "SELinux labels are not applied by hutch-oci",
        ));
    }
    for (name, present) in [
        ("ioPriority", process.io_priority().is_some()),
        ("scheduler", process.scheduler().is_some()),
        ("execCPUAffinity", process.exec_cpu_affinity().is_some()),
    ] {
        if present {
            return Err(unsupported(name, "not implemented"));
        }
    }
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.args"),
            "the process needs a command",
        ));
    }
    let c_strings = |name: &str, list: &[String]| -> Result<Vec<CString>, ConfigError> {
        list.iter()
            .map(|s| {
                CString::new(s.as_str()).map_err(|_| {
                    ConfigError::invalid(format!("{field}.{name}"), "contains a NUL byte")
                })
            })
            .collect()
    };
    let argv = c_strings("args", &args)?;
    let env_list = process.env().clone().unwrap_or_default();
    if let Some(bad) = env_list.iter().find(|e| !e.contains('=')) {
        return Err(ConfigError::invalid(
            format!("{field}.env"),
            format!("{bad:?} is not NAME=VALUE"),
        ));
    }
    let env = c_strings("env", &env_list)?;
    let cwd = process.cwd().clone();
    if !cwd.is_absolute() {
        return Err(ConfigError::invalid(
            format!("{field}.cwd"),
            format!("{} is not an absolute path", cwd.display()),
        ));
    }
    let capabilities = capabilities(process.capabilities().as_ref(), field)?;
    let mut rlimits = Vec::new();
    for (i, rlimit) in process.rlimits().iter().flatten().enumerate() {
        let name = serde_json::to_value(rlimit.typ())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let short = name.trim_start_matches("RLIMIT_").to_ascii_lowercase();
        let limit = limits::parse(&short, &format!("{}:{}", rlimit.soft(), rlimit.hard()))
            .map_err(|e| ConfigError::invalid(format!("{field}.rlimits[{i}]"), e.to_string()))?;
        rlimits.push(limit);
    }
    Ok(ProcessPlan {
        argv,
        env,
        cwd,
        uid: process.user().uid(),
        gid: process.user().gid(),
        additional_gids: process.user().additional_gids().clone().unwrap_or_default(),
        umask: process.user().umask(),
        capabilities,
        rlimits,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        terminal: process.terminal().unwrap_or(false),
        console_size: process
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16)),
        oom_score_adj: process.oom_score_adj(),
        preserve_fds: 0,
    })
}

fn capabilities(
    caps: Option<&LinuxCapabilities>,
    field: &str,
) -> Result<Capabilities, ConfigError> {
    let Some(caps) = caps else {
        return Ok(Capabilities::default());
    };
    let set = |name: &str, list: &Option<oci_spec::runtime::Capabilities>| {
        let names: Vec<String> = list
            .iter()
            .flatten()
            .filter_map(|c| serde_json::to_value(c).ok()?.as_str().map(str::to_owned))
            .collect();
        CapSet::from_names(&names).map_err(|e| {
            ConfigError::invalid(format!("{field}.capabilities.{name}"), e.to_string())
        })
    };
    Ok(Capabilities {
        bounding: set("bounding", caps.bounding())?,
        effective: set("effective", caps.effective())?,
        permitted: set("permitted", caps.permitted())?,
        inheritable: set("inheritable", caps.inheritable())?,
        ambient: set("ambient", caps.ambient())?,
    })
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// A path relative to the bundle, or absolute.
fn absolute_in(bundle: &Path, path: &Path) -> PathBuf {
    crate::mounts::normalize(&bundle.join(path))
}

/// A destination inside the container: absolute, never climbing out.
fn container_path(field: &str, path: &Path) -> Result<PathBuf, ConfigError> {
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(ConfigError::invalid(
            field,
            format!("{} must be an absolute path without `..`", path.display()),
        ));
    }
    Ok(crate::mounts::normalize(path))
}

/// One entry of `mounts`; `None` when it is deliberately skipped (said in `warnings`).
#[allow(clippy::too_many_arguments)]
fn mount_op(
    mount: &OciMount,
    field: &str,
    bundle: &Path,
    host: HostFacts,
    new_namespaces: CloneFlags,
    joined: &[(CloneFlags, PathBuf)],
    warnings: &mut Vec<String>,
) -> Result<Option<MountOp>, ConfigError> {
    if mount.uid_mappings().is_some() || mount.gid_mappings().is_some() {
        return Err(ConfigError::unsupported(
            format!("{field}.uidMappings"),
            "id-mapped mounts are not implemented",
        ));
    }
    let dst = container_path(&format!("{field}.destination"), mount.destination())?;
    let options = mount.options().clone().unwrap_or_default();
    let mut attrs = 0u64;
    let mut data: Vec<(String, Option<String>)> = Vec::new();
    let mut bind = false;
    let mut recursive = false;
    for option in &options {
        match option.as_str() {
            "bind" => bind = true,
            "rbind" => {
                bind = true;
                recursive = true;
            }
            "ro" => attrs |= mount_attr::RDONLY,
            "nosuid" => attrs |= mount_attr::NOSUID,
            "nodev" => attrs |= mount_attr::NODEV,
            "noexec" => attrs |= mount_attr::NOEXEC,
            // Defaults, or access-time policies that change no access.
            "rw" | "suid" | "dev" | "exec" | "relatime" | "norelatime" | "strictatime"
            | "noatime" | "nodiratime" | "atime" | "diratime" | "async" | "private"
            | "rprivate" => {}
            "tmpcopyup" => warnings.push(format!(
                "{field}: option tmpcopyup ignored: the tmpfs on {} starts empty",
                dst.display()
            )),
            "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => {
                return Err(ConfigError::unsupported(
                    format!("{field}.options"),
                    format!("{option:?}: the container's mounts are always private"),
                ))
            }
            other => match other.split_once('=') {
                Some((key, value)) => data.push((key.to_owned(), Some(value.to_owned()))),
                None => data.push((other.to_owned(), None)),
            },
        }
    }
    let fstype = mount.typ().clone().unwrap_or_default();
    if bind || fstype == "bind" {
        if !data.is_empty() {
            return Err(ConfigError::unsupported(
                format!("{field}.options"),
                format!("{:?} on a bind mount", data[0].0),
            ));
        }
        let source = mount.source().as_ref().ok_or_else(|| {
            ConfigError::invalid(format!("{field}.source"), "a bind mount needs a source")
        })?;
        let src = absolute_in(bundle, source);
        if std::fs::symlink_metadata(&src).is_err() {
            return Err(ConfigError::invalid(
                format!("{field}.source"),
                format!("{} does not exist", src.display()),
            ));
        }
        return Ok(Some(MountOp::BindWith {
            src,
            dst,
            recursive,
            attrs,
        }));
    }
    // The source names the mount in /proc/self/mountinfo (`proc`, `tmpfs`, `shm`...), where
    // engines and runtime-tools look for it.
    if let Some(source) = mount.source() {
        if matches!(
            fstype.as_str(),
            "tmpfs" | "devpts" | "mqueue" | "proc" | "sysfs"
        ) {
            data.insert(
                0,
                ("source".into(), Some(source.to_string_lossy().into_owned())),
            );
        }
    }
    let unsupported_data = |fstype: &str| {
        ConfigError::unsupported(
            format!("{field}.options"),
            format!("{:?} on a {fstype} mount", data.last().map(|d| &d.0)),
        )
    };
    let own_netns = new_namespaces.contains(CloneFlags::CLONE_NEWNET)
        && !joined.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWNET);
    let op = match fstype.as_str() {
        "tmpfs" | "devpts" | "mqueue" => MountOp::FileSystem {
            fstype,
            dst,
            options: data,
            attrs,
        },
        "proc" => {
            if data.iter().any(|(key, _)| key != "source") {
                return Err(unsupported_data("proc"));
            }
            if !new_namespaces.contains(CloneFlags::CLONE_NEWPID) {
                return Err(ConfigError::unsupported(
                    format!("{field}.type"),
                    "a /proc without a pid namespace of the container's own would show the \
                     host's processes",
                ));
            }
            MountOp::FileSystem {
                fstype,
                dst,
                options: data,
                attrs,
            }
        }
        "sysfs" if own_netns => {
            data.retain(|(key, _)| key == "source");
            MountOp::FileSystem {
                fstype,
                dst,
                options: data,
                attrs,
            }
        }
        // The kernel lets only the owner of a network namespace mount sysfs; without one of
        // the container's own, the host's /sys is bound, read-only, as runc does rootless.
        "sysfs" => MountOp::BindWith {
            src: "/sys".into(),
            dst,
            recursive: true,
            attrs: attrs
                | mount_attr::RDONLY
                | mount_attr::NOSUID
                | mount_attr::NODEV
                | mount_attr::NOEXEC,
        },
        "cgroup" | "cgroup2" => {
            if host.cgroup2 && new_namespaces.contains(CloneFlags::CLONE_NEWCGROUP) {
                MountOp::FileSystem {
                    fstype: "cgroup2".into(),
                    dst,
                    options: Vec::new(),
                    attrs: attrs | mount_attr::RDONLY,
                }
            } else {
                // cgroup v1 (or a hybrid tree) cannot be mounted in a user namespace, and the
                // host's tree is not the container's business: the mount point stays empty.
                warnings.push(format!(
                    "{field}: the cgroup mount on {} is skipped: the host has no cgroup2 tree \
                     at /sys/fs/cgroup or the container no cgroup namespace",
                    dst.display()
                ));
                return Ok(None);
            }
        }
        "" => {
            return Err(ConfigError::invalid(
                format!("{field}.type"),
                "a mount needs a type, or the bind option",
            ))
        }
        other => {
            return Err(ConfigError::unsupported(
                format!("{field}.type"),
                format!("{other:?} mounts are not implemented"),
            ))
        }
    };
    Ok(Some(op))
}

fn hooks(spec: &Spec) -> Result<Hooks, ConfigError> {
    let Some(hooks) = spec.hooks() else {
        return Ok(Hooks::default());
    };
    for (name, list) in [
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
    ] {
        if list.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(ConfigError::unsupported(
                format!("hooks.{name}"),
                "hooks inside the container's namespaces are not implemented",
            ));
        }
    }
    let convert = |name: &str, list: &Option<Vec<Hook>>| -> Result<Vec<HookPlan>, ConfigError> {
        list.iter()
            .flatten()
            .enumerate()
            .map(|(i, hook)| {
                if !hook.path().is_absolute() {
                    return Err(ConfigError::invalid(
                        format!("hooks.{name}[{i}].path"),
                        "must be absolute",
                    ));
                }
                let timeout = match hook.timeout() {
                    None => None,
                    Some(t) if t > 0 => Some(t as u64),
                    Some(_) => {
                        return Err(ConfigError::invalid(
                            format!("hooks.{name}[{i}].timeout"),
                            "must be greater than zero",
                        ))
                    }
                };
                Ok(HookPlan {
                    path: hook.path().clone(),
                    args: hook.args().clone().unwrap_or_default(),
                    env: hook.env().clone().unwrap_or_default(),
                    timeout,
                })
            })
            .collect()
    };
    #[allow(deprecated)]
    let prestart = hooks.prestart();
    let mut create_runtime = convert("prestart", prestart)?;
    create_runtime.extend(convert("createRuntime", hooks.create_runtime())?);
    Ok(Hooks {
        create_runtime,
        poststart: convert("poststart", hooks.poststart())?,
        poststop: convert("poststop", hooks.poststop())?,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
