//! The environment subcommands, behind the CLI: each resolves paths, reconciles, acts, and
//! returns what a person (or, with --json, a tool) needs to see; the CLI prints it.

use std::ffi::{CString, OsString};
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

use serde::Serialize;

use super::join::{self, JoinError};
use super::runtime::{self, Status};
use super::{supervisor, Definition, EnvError, EnvPaths, NetSettings, Source};
use crate::spec::Host;
use crate::state::StateDirs;

#[allow(clippy::too_many_arguments)]
pub fn create(
    dirs: &StateDirs,
    name: &str,
    host_source: bool,
    image: Option<&str>,
    init: super::Init,
    profile: Option<&str>,
    map_root: bool,
    net: NetSettings,
    mounts: &[crate::spec::MountFlag],
    limits: crate::cgroup::ResourceFlags,
) -> Result<(), EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    let source = match (host_source, image) {
        (true, None) => Source::Host,
        (false, Some(image)) => {
            let (rootfs, _) =
                super::image::rootfs(&crate::image::store::Store::new(&dirs.data), image)?;
            if init == super::Init::System && !super::image::has_system_init(&rootfs) {
                return Err(EnvError::Image {
                    image: image.to_owned(),
                    message: "it has no /sbin/init for --init system".into(),
                });
            }
            if init == super::Init::System {
                bootable_here(super::inits::detect(&[rootfs]))?;
            }
            Source::Image
        }
        _ => return Err(EnvError::NoSource),
    };
    if init == super::Init::System && source == Source::Host {
        return Err(EnvError::SystemInitNeedsImage);
    }
    let host = Host::current()?;
    let shares = super::shares::from_flags(mounts, &host)?;
    let definition = Definition {
        name: name.to_owned(),
        source,
        profile: profile
            .unwrap_or(if image.is_some() { "image" } else { "base" })
            .to_owned(),
        map_root: map_root || image.is_some(),
        created: super::now(),
        init,
        image: image.map(str::to_owned),
        net,
        mounts: shares,
        stop_signal: None,
        ready: None,
        boot_timeout: None,
        limits,
    };
    super::create(&paths, &definition)?;
    // The profile must resolve now, not at the first start; a definition that cannot start is
    // not kept.
    let checked = super::spec(&paths, &definition, &host).and_then(|spec| {
        // A network that needs pasta fails now, with the hint, rather than at every start.
        if spec.net == crate::profile::NetMode::Pasta {
            crate::net::locate_pasta()?;
        }
        // Limits this host cannot give fail now too; a cgroup that is merely not delegated
        // to this shell is asked for at `hutch start`.
        if !spec.resources.is_empty() {
            let host = crate::cgroup::CgroupHost::current();
            match crate::cgroup::find(&host, &spec.resources.controllers()) {
                Err(e) if !e.needs_scope() => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    });
    if let Err(e) = checked {
        let _ = std::fs::remove_dir_all(&paths.dir);
        return Err(e);
    }
    Ok(())
}

fn load(dirs: &StateDirs, name: &str) -> Result<(EnvPaths, crate::spec::SandboxSpec), EnvError> {
    let (paths, definition) = load_definition(dirs, name)?;
    let spec = super::spec(&paths, &definition, &Host::current()?)?;
    Ok((paths, spec))
}

fn load_definition(dirs: &StateDirs, name: &str) -> Result<(EnvPaths, Definition), EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    let definition = paths.load()?;
    Ok((paths, definition))
}

/// The sandbox and the init's conventions a supervisor needs.
fn load_for_supervisor(
    dirs: &StateDirs,
    name: &str,
) -> Result<
    (
        EnvPaths,
        crate::spec::SandboxSpec,
        super::inits::Conventions,
    ),
    EnvError,
> {
    let (paths, definition) = load_definition(dirs, name)?;
    let spec = super::spec(&paths, &definition, &Host::current()?)?;
    let mut spec = spec;
    let conventions = super::conventions(&paths, &definition)?;
    // systemd installed inside since `hutch create` is found here.
    bootable_here(conventions.kind)?;
    // systemd mounts nothing of cgroups itself inside a user namespace: it manages the cgroup2
    // it finds at /sys/fs/cgroup, which must be its own.
    spec.own_cgroup = conventions.kind == super::inits::InitKind::Systemd;
    Ok((paths, spec, conventions))
}

/// Refuse to boot an init this host cannot run, rather than let it freeze.
fn bootable_here(kind: super::inits::InitKind) -> Result<(), EnvError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    match super::inits::host_problem(kind, &mountinfo) {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}

/// `hutch start`: whether it started (`false`: it was running already).
pub fn start(dirs: &StateDirs, name: &str) -> Result<bool, EnvError> {
    let (paths, spec, conventions) = load_for_supervisor(dirs, name)?;
    supervisor::start(&paths, &spec, &conventions)
}

/// `hutch stop`: whether it was running.
pub fn stop(dirs: &StateDirs, name: &str, grace: u64) -> Result<bool, EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    supervisor::stop(&paths, grace)
}

pub fn restart(dirs: &StateDirs, name: &str) -> Result<(), EnvError> {
    let (paths, spec, conventions) = load_for_supervisor(dirs, name)?;
    supervisor::restart(&paths, &spec, &conventions)
}

pub fn exec(
    dirs: &StateDirs,
    name: &str,
    command: &[OsString],
    stdio: join::StdioOptions,
) -> Result<u8, JoinError> {
    let (paths, spec) = load(dirs, name)?;
    let argv = command
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| EnvError::from(crate::spec::SpecError::NulInCommand))?;
    join::exec(&paths, &spec, Some(argv), None, stdio)
}

pub fn enter(dirs: &StateDirs, name: &str, user: Option<&str>) -> Result<u8, JoinError> {
    let (paths, spec) = load(dirs, name)?;
    let stdio = join::StdioOptions {
        login: true,
        ..Default::default()
    };
    join::exec(&paths, &spec, None, user, stdio)
}

/// One environment in `ls` and `status`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub name: String,
    pub status: &'static str,
    pub source: Source,
    /// The image, for an environment made from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub profile: String,
    pub map_root: bool,
    /// PID 1 on the host, when running.
    pub init_pid: Option<i32>,
    /// Seconds since the epoch PID 1 (re)started, when running.
    pub since: Option<u64>,
    pub restarts: Option<u32>,
    /// What the environment's init last said of itself (systemd's `STATUS=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_status: Option<String>,
    /// Why it last stopped on its own (crash loop, failed start), if it did.
    pub last_stop: Option<String>,
    pub created: u64,
    pub home: String,
    /// Host folders shared at every start (`create --bind/--ro-bind/--tmpfs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<super::shares::Share>,
    /// cgroup limits as env.toml holds them.
    pub limits: crate::cgroup::ResourceFlags,
    /// Use against the limits, while it runs with them.
    pub usage: Option<crate::cgroup::Usage>,
}

impl Summary {
    /// What `ls` and `status` show as the source: `host`, or the image's name.
    fn source_label(&self) -> &str {
        match (self.source, &self.image) {
            (Source::Host, _) => "host",
            (Source::Image, Some(image)) => image,
            (Source::Image, None) => "image",
        }
    }
}

fn summary(paths: &EnvPaths) -> Result<Summary, EnvError> {
    let definition = paths.load()?;
    let status = runtime::status(paths)?;
    let last_stop = std::fs::read_to_string(paths.last_stop()).ok();
    let (status_name, state) = match status {
        // It stopped on its own, for the reason in last_stop (a failed boot, a crash loop).
        Status::Stopped if last_stop.is_some() => ("failed", None),
        Status::Stopped => ("stopped", None),
        Status::Starting => ("starting", None),
        Status::Running(state) => (
            match state.phase {
                runtime::Phase::Booting => "booting",
                runtime::Phase::Running => "running",
                runtime::Phase::Stopping => "stopping",
            },
            Some(state),
        ),
    };
    Ok(Summary {
        name: definition.name,
        status: status_name,
        source: definition.source,
        image: definition.image,
        profile: definition.profile,
        map_root: definition.map_root,
        init_pid: state.as_ref().map(|s| s.init),
        since: state.as_ref().map(|s| s.since),
        restarts: state.as_ref().map(|s| s.restarts),
        init_status: state.as_ref().and_then(|s| s.init_status.clone()),
        last_stop,
        created: definition.created,
        home: paths.home().display().to_string(),
        mounts: definition.mounts,
        limits: definition.limits,
        usage: state
            .as_ref()
            .and_then(|s| s.cgroup.as_deref())
            .map(crate::cgroup::read_usage),
    })
}

/// What `hutch ls` prints, and the environments it could not read: one that is refused (state
/// owned by someone else, a broken env.toml) must not hide the others.
pub struct Listing {
    pub text: String,
    pub unreadable: Vec<EnvError>,
}

/// `hutch ls`: the listing to print.
pub fn ls(dirs: &StateDirs, json: bool) -> Result<Listing, EnvError> {
    let mut names: Vec<String> = std::fs::read_dir(dirs.envs())
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut summaries = Vec::new();
    let mut unreadable = Vec::new();
    for paths in names
        .iter()
        .filter_map(|n| EnvPaths::new(dirs, n).ok())
        .filter(EnvPaths::exists)
    {
        match summary(&paths) {
            Ok(s) => summaries.push(s),
            Err(e) => unreadable.push(e),
        }
    }
    if json {
        let mut text = serde_json::to_string_pretty(&summaries).expect("plain data");
        text.push('\n');
        return Ok(Listing { text, unreadable });
    }
    let width = summaries
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let source_width = summaries
        .iter()
        .map(|s| s.source_label().len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:width$}  {:8}  {:source_width$}  {:8}  {:9}  SINCE",
        "NAME", "STATUS", "SOURCE", "PROFILE", "MEMORY"
    );
    for s in summaries {
        let since = s
            .since
            .map(|t| format!("{} s ago", super::now().saturating_sub(t)))
            .unwrap_or_default();
        let memory = s
            .usage
            .as_ref()
            .and_then(|u| u.memory_current)
            .map(crate::cgroup::human_size)
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:width$}  {:8}  {:source_width$}  {:8}  {memory:9}  {since}",
            s.name,
            s.status,
            s.source_label(),
            s.profile
        );
    }
    Ok(Listing {
        text: out,
        unreadable,
    })
}

/// How long `hutch status` waits for an environment's `systemctl is-system-running`.
const SYSTEM_STATE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `systemctl is-system-running` in environment `name` says `degraded`: asked through
/// `hutch exec` (this binary again, with the same state root), so it runs with every restriction
/// of the environment's, and killed past [`SYSTEM_STATE_WITHIN`]. Its answer is the
/// environment's own word about itself, believed only as that one word.
fn systemd_is_degraded(dirs: &StateDirs, name: &str) -> bool {
    let Ok(hutch) = std::env::current_exe() else {
        return false;
    };
    let mut command = std::process::Command::new(hutch);
    // `--root DIR` keeps its state in DIR/data; the XDG place ends in `hutch`.
    if dirs.data.file_name() == Some(std::ffi::OsStr::new("data")) {
        if let Some(root) = dirs.data.parent() {
            command.arg("--root").arg(root);
        }
    }
    command.args(["-q", "exec", name, "--", "systemctl", "is-system-running"]);
    match crate::program::output_within(command, SYSTEM_STATE_WITHIN) {
        Some((_, answer)) => answer.split(|&b| b == b'\n').next() == Some(&b"degraded"[..]),
        None => false,
    }
}

/// `hutch status`: the report to print.
pub fn status(dirs: &StateDirs, name: &str, json: bool) -> Result<String, EnvError> {
    let mut s = summary(&EnvPaths::new(dirs, name)?)?;
    // An init that reports over sd_notify is systemd (or speaks for itself as systemd does): it
    // is running, or degraded when a unit of it failed, which it says only when asked.
    if s.status == "running" && s.init_status.is_some() && systemd_is_degraded(dirs, name) {
        s.status = "degraded";
    }
    let mut out = String::new();
    if json {
        out = serde_json::to_string_pretty(&s).expect("plain data");
        out.push('\n');
        return Ok(out);
    }
    let _ = writeln!(out, "name:      {}", s.name);
    let _ = writeln!(out, "status:    {}", s.status);
    match s.source {
        Source::Host => {
            let _ = writeln!(out, "source:    host");
        }
        Source::Image => {
            let _ = writeln!(out, "source:    image {}", s.source_label());
        }
    }
    let _ = writeln!(out, "profile:   {}", s.profile);
    let _ = writeln!(
        out,
        "root:      {}",
        if s.map_root {
            "uid 0 inside"
        } else {
            "your own uid inside"
        }
    );
    let _ = writeln!(out, "home:      {}", s.home);
    for share in &s.mounts {
        let _ = writeln!(out, "shared:    {share}");
    }
    if let (Some(pid), Some(since), Some(restarts)) = (s.init_pid, s.since, s.restarts) {
        let _ = writeln!(
            out,
            "PID 1:     {pid} (on the host), up {} s, {restarts} restarts",
            super::now().saturating_sub(since)
        );
    }
    if let Some(said) = &s.init_status {
        let _ = writeln!(out, "init says: {said}");
    }
    if !s.limits.is_empty() {
        let limits = toml::to_string(&s.limits).expect("plain data");
        let _ = writeln!(
            out,
            "limits:    {}",
            limits.lines().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(usage) = &s.usage {
        out.push_str(&usage_lines(usage));
    }
    if let Some(reason) = s.last_stop {
        let _ = writeln!(out, "last stop: {reason}");
    }
    Ok(out)
}

/// `hutch status`'s lines about use against limits.
fn usage_lines(usage: &crate::cgroup::Usage) -> String {
    use crate::cgroup::human_size;
    let limit = |max: Option<Option<u64>>, show: fn(u64) -> String| match max {
        Some(Some(n)) => show(n),
        _ => "no limit".into(),
    };
    let mut out = String::new();
    if let Some(current) = usage.memory_current {
        let _ = writeln!(
            out,
            "memory:    {} of {}",
            human_size(current),
            limit(usage.memory_max, human_size)
        );
    }
    if let Some(current) = usage.pids_current {
        let _ = writeln!(
            out,
            "tasks:     {current} of {}",
            limit(usage.pids_max, |n| n.to_string())
        );
    }
    if let Some(usec) = usage.cpu_usage_usec {
        let _ = writeln!(out, "cpu time:  {:.2} s", usec as f64 / 1e6);
    }
    if let Some(kills) = usage.oom_kills {
        let _ = writeln!(out, "oom kills: {kills}");
    }
    out
}

/// The cgroup a command run in a running environment with a cgroup of its own joins: the
/// environment's, or where its init manages that subtree (systemd's slices and scopes), a
/// `hutch-exec` cgroup in it. A cgroup whose children have controllers holds no process of its
/// own (the "no internal processes" rule of cgroups(7)).
pub fn running_cgroup(
    dirs: &StateDirs,
    name: &str,
) -> Result<Option<std::path::PathBuf>, EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    let Status::Running(state) = runtime::status(&paths)? else {
        return Ok(None);
    };
    let Some(cgroup) = state.cgroup else {
        return Ok(None);
    };
    let managed = std::fs::read_dir(&cgroup)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .unwrap_or(false);
    if !managed {
        return Ok(Some(cgroup));
    }
    let exec = cgroup.join("hutch-exec");
    match std::fs::create_dir(&exec) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(EnvError::Io {
            what: "cannot create the cgroup",
            path: exec,
            source: e,
        }),
        _ => Ok(Some(exec)),
    }
}

/// The limits a `hutch start` (or a restart) of a stopped environment must give it, and
/// whether its init needs a cgroup of its own even without them (systemd): none when it runs
/// already.
pub fn cgroup_to_start(
    dirs: &StateDirs,
    name: &str,
) -> Result<(crate::cgroup::Resources, bool), EnvError> {
    let (paths, spec, _) = load_for_supervisor(dirs, name)?;
    Ok(match runtime::status(&paths)? {
        Status::Stopped => (spec.resources, spec.own_cgroup),
        _ => (crate::cgroup::Resources::default(), false),
    })
}

/// What `hutch update` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Updated {
    /// Written to env.toml and to the running environment's cgroup.
    Live,
    /// Written to env.toml; the environment is stopped, or runs without a cgroup of its own:
    /// the limits hold from its next start.
    AtNextStart { running: bool },
}

/// `hutch update NAME --memory …`: the new limits over the old ones in env.toml, and in the
/// running environment's cgroup where it has one.
pub fn update(
    dirs: &StateDirs,
    name: &str,
    limits: &crate::cgroup::ResourceFlags,
) -> Result<Updated, EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    let mut definition = paths.load()?;
    let before = definition.clone();
    definition.limits = limits.over(&definition.limits);
    // The whole definition must still resolve (values checked, flags named) before it is kept.
    let spec = super::spec(&paths, &definition, &Host::current()?)?;
    let text = toml::to_string(&definition).expect("a plain struct serializes");
    super::write_atomically(&paths.definition(), text.as_bytes())?;
    let running = match runtime::status(&paths)? {
        Status::Running(state) => Some(state),
        _ => None,
    };
    match running.as_ref().and_then(|s| s.cgroup.as_deref()) {
        Some(cgroup) if !spec.resources.is_empty() => {
            // Only what was given now: the rest is in the cgroup already.
            let given = crate::cgroup::Resources::parse(limits, |f| format!("--{f}"))
                .map_err(crate::spec::SpecError::Resource)?;
            match crate::cgroup::apply(cgroup, &given) {
                Ok(()) => Ok(Updated::Live),
                // A controller the running cgroup was not given: from the next start.
                Err(crate::cgroup::CgroupError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(Updated::AtNextStart { running: true })
                }
                Err(e) => {
                    let _ = super::write_atomically(
                        &paths.definition(),
                        toml::to_string(&before).expect("plain data").as_bytes(),
                    );
                    Err(e.into())
                }
            }
        }
        _ => Ok(Updated::AtNextStart {
            running: running.is_some(),
        }),
    }
}

/// An environment's console log, as `hutch logs` copies it out. Following, a read waits for
/// more to be appended instead of reporting the end.
pub struct ConsoleLog {
    file: Option<std::fs::File>,
    path: std::path::PathBuf,
    follow: bool,
}

impl ConsoleLog {
    /// The next bytes of the log into `buf`: how many, 0 at its end (never when following).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, EnvError> {
        let Some(file) = &mut self.file else {
            return Ok(0);
        };
        loop {
            let read = file.read(buf).map_err(|source| EnvError::Io {
                what: "cannot read",
                path: self.path.clone(),
                source,
            })?;
            if read > 0 || !self.follow {
                return Ok(read);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// `hutch logs`: the console log to copy out; with `follow`, one that never ends (and, while
/// the environment has never started, waits for the log to appear).
pub fn logs(dirs: &StateDirs, name: &str, follow: bool) -> Result<ConsoleLog, EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    paths.load()?;
    let path = paths.console();
    let file = match std::fs::File::open(&path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            runtime::wait_for(u64::MAX / 2, || Ok(path.exists()))?;
            Some(std::fs::File::open(&path).map_err(|source| EnvError::Io {
                what: "cannot open",
                path: path.clone(),
                source,
            })?)
        }
        Err(source) => {
            return Err(EnvError::Io {
                what: "cannot open",
                path,
                source,
            })
        }
    };
    Ok(ConsoleLog { file, path, follow })
}

pub fn rm(dirs: &StateDirs, name: &str, force: bool) -> Result<(), EnvError> {
    let paths = EnvPaths::new(dirs, name)?;
    let definition = paths.load()?;
    if runtime::status(&paths)? != Status::Stopped {
        if !force {
            return Err(EnvError::Running {
                name: name.to_owned(),
            });
        }
        supervisor::stop(&paths, 10)?;
    }
    if definition.source == Source::Image {
        super::image::remove(&paths)?;
        runtime::clear(&paths);
        return Ok(());
    }
    std::fs::remove_dir_all(&paths.dir).map_err(|source| EnvError::Io {
        what: "cannot remove",
        path: paths.dir.clone(),
        source,
    })?;
    runtime::clear(&paths);
    Ok(())
}
