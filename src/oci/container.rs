//! The runtime's verbs on one container: `create` (set up and wait), `start`, `state`, `kill`,
//! `delete`, `ps`. `exec` is in `exec`.
//!
//! `create` clones the container's init into its namespaces (joining those the spec names by
//! path first, in this process, so that the clone inherits them), maps its ids, and waits until
//! it reports that it is ready or failed. The init then waits on `exec.fifo` until `start`
//! writes to it, and `create` exits, leaving it to the engine (conmon, containerd's shim),
//! which is its subreaper. state.json is written as soon as the init exists, so that no kill
//! of `create` leaves an unknown process behind.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::cgroup;
use super::config::{self, ContainerPlan, HostFacts, IdMaps};
use super::hooks;
use super::init::{self, InitChannels};
use super::state::{self, Container, OciStateError, Record, Status};
use super::OciError;
use crate::channel;
use crate::idmap::IdMap;
use crate::sys::{self, SysError};

/// What `create` was asked.
pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: u32,
    /// `--systemd-cgroup`: linux.cgroupsPath is systemd's `SLICE:PREFIX:NAME`.
    pub systemd_cgroup: bool,
}

/// Warnings for the log; the container was made.
pub fn create(request: &CreateRequest<'_>) -> Result<Vec<String>, OciError> {
    let container = Container::at(request.root, request.id)?;
    let bundle = std::fs::canonicalize(request.bundle).map_err(|source| OciError::Bundle {
        path: request.bundle.to_owned(),
        source,
    })?;
    let config_path = bundle.join("config.json");
    let (spec, raw) = config::load(&config_path)?;
    let host = HostFacts::current();
    let mut plan = config::plan(&spec, &raw, &bundle, host)?;
    plan.process.preserve_fds = request.preserve_fds;
    if plan.process.terminal && request.console_socket.is_none() {
        return Err(OciError::NoConsoleSocket);
    }
    state::open_root(request.root)?;
    container.make()?;
    let made = (|| -> Result<Vec<String>, OciError> {
        std::fs::copy(&config_path, container.config_copy()).map_err(|source| OciError::Io {
            what: "copy",
            path: config_path.clone(),
            source,
        })?;
        launch(&container, &plan, &bundle, host, request)
    })();
    if made.is_err() {
        let _ = container.remove();
    }
    made.map(|more| plan.warnings.into_iter().chain(more).collect())
}

/// The container's cgroup, when it gets one (see `super::cgroup`); a warning when it does not
/// but runs all the same.
fn place_cgroup(
    plan: &ContainerPlan,
    request: &CreateRequest<'_>,
) -> Result<(Option<cgroup::Placed>, Vec<String>), OciError> {
    let asked = cgroup::Request {
        cgroups_path: plan.cgroups_path.as_deref(),
        systemd: request.systemd_cgroup,
        writes: &plan.cgroup_writes,
    };
    match cgroup::place(&cgroup::Host::current(), &asked) {
        Ok(placed) => {
            if let Some(placed) = &placed {
                tracing::debug!(cgroup = %placed.path.display(), "container cgroup");
            }
            Ok((placed, Vec::new()))
        }
        Err((e, true)) => Err(e.into()),
        Err((e, false)) => Ok((None, vec![e.to_string()])),
    }
}

fn launch(
    container: &Container,
    plan: &ContainerPlan,
    bundle: &Path,
    host: HostFacts,
    request: &CreateRequest<'_>,
) -> Result<Vec<String>, OciError> {
    let (placed, warnings) = place_cgroup(plan, request)?;
    let launched = launch_in(container, plan, bundle, host, request, placed.as_ref());
    if launched.is_err() {
        if let Some(placed) = placed.filter(|p| p.made) {
            cgroup::remove(&placed.path);
        }
    }
    launched.map(|()| warnings)
}

fn launch_in(
    container: &Container,
    plan: &ContainerPlan,
    bundle: &Path,
    host: HostFacts,
    request: &CreateRequest<'_>,
    placed: Option<&cgroup::Placed>,
) -> Result<(), OciError> {
    let fifo_path = container.fifo();
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600)).map_err(|errno| {
        OciError::Sys(SysError {
            call: format!("mkfifo({})", fifo_path.display()),
            errno,
        })
    })?;
    // Read end, without blocking: there is no writer until `start`.
    let fifo: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|source| OciError::Io {
            what: "open",
            path: fifo_path.clone(),
            source,
        })?
        .into();
    let console = match request.console_socket.filter(|_| plan.process.terminal) {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path).map_err(|source| OciError::Io {
                what: "connect to the console socket",
                path: path.to_owned(),
                source,
            })?,
        ),
        None => None,
    };
    for (flag, path) in &plan.joined {
        join_namespace(*flag, path)?;
    }
    let rules = config::landlock_rules(plan);
    let last_cap = sys::last_capability();
    let (reader, writer) = channel::report_pipe().map_err(OciError::Sys)?;
    let (holder, watch) = channel::lifeline().map_err(OciError::Sys)?;
    let ids_go = match &plan.id_maps {
        Some(_) => Some(channel::go_pipe("id maps").map_err(OciError::Sys)?),
        None => None,
    };
    let (ids_sender, ids_waiter) = match ids_go {
        Some((sender, waiter)) => (Some(sender), Some(waiter)),
        None => (None, None),
    };
    let mut flags = plan.new_namespaces;
    let clone = match placed {
        Some(placed) => {
            // The init makes its cgroup namespace itself, once it is in its cgroup: one made
            // by the clone would be rooted at this process's cgroup (copy_namespaces runs
            // before the move into CLONE_INTO_CGROUP's target).
            flags.remove(CloneFlags::CLONE_NEWCGROUP);
            // SAFETY: as below.
            unsafe { sys::clone_into_cgroup(flags, placed.dir.as_fd()) }
        }
        // SAFETY: `hutch-oci create` starts no thread (its CLI parses, reads files and forks
        // nothing else before this point; see `crate::child`).
        None => unsafe { sys::clone_into_namespaces(flags) },
    };
    let unshare_cgroup = flags != plan.new_namespaces;
    let child = match clone.map_err(OciError::Clone)? {
        None => crate::child::run("the container's set-up", || {
            drop(reader);
            drop(holder);
            drop(ids_sender);
            init::run(
                plan,
                &rules,
                last_cap,
                InitChannels {
                    report: writer,
                    lifeline: watch,
                    ids_mapped: ids_waiter,
                    fifo,
                    console,
                    unshare_cgroup,
                },
            )
        }),
        Some(child) => child,
    };
    drop(writer);
    drop(watch);
    drop(ids_waiter);
    drop(fifo);
    drop(console);
    let abandon = |e: OciError| -> OciError {
        let _ = sys::kill(child, libc::SIGKILL);
        let _ = waitpid(child, None);
        e
    };
    // Recorded at once: from here on, whatever kills us, `state` and `delete` know the process.
    let mut record = Record {
        id: container.id.clone(),
        bundle: bundle.to_owned(),
        pid: child.as_raw(),
        pid_start_time: sys::process_start_time(child).unwrap_or(0),
        created: state::now_rfc3339(),
        annotations: plan.annotations.clone(),
        poststart: plan.hooks.poststart.clone(),
        poststop: plan.hooks.poststop.clone(),
        complete: false,
        cgroup: placed.map(|p| p.path.clone()),
        cgroup_made: placed.is_some_and(|p| p.made),
    };
    container.save(&record).map_err(|e| abandon(e.into()))?;
    if let (Some(maps), Some(sender)) = (&plan.id_maps, ids_sender) {
        write_id_maps(maps, child, host).map_err(abandon)?;
        let _ = sender.go();
    }
    if let Some(report) = reader.wait_until_running() {
        return Err(abandon(OciError::Inside(report.message)));
    }
    drop(holder);
    record.complete = true;
    container.save(&record).map_err(|e| abandon(e.into()))?;
    if let Some(pid_file) = request.pid_file {
        write_pid_file(pid_file, child).map_err(abandon)?;
    }
    let document = state::document(&record, Status::Created);
    hooks::run_all("createRuntime", &plan.hooks.create_runtime, &document)
        .map_err(|e| abandon(e.into()))?;
    Ok(())
}

/// setns(2) into the namespace at `path`: the container's init, cloned next, inherits it.
fn join_namespace(flag: CloneFlags, path: &Path) -> Result<(), OciError> {
    let file = std::fs::File::open(path).map_err(|source| OciError::Io {
        what: "open the namespace",
        path: path.to_owned(),
        source,
    })?;
    nix::sched::setns(file.as_fd(), flag).map_err(|errno| {
        OciError::Sys(SysError {
            call: format!("setns({}, {flag:?})", path.display()),
            errno,
        })
    })
}

/// The maps of the init's new user namespace. Mapping only our own ids needs no helper (the
/// kernel allows it once setgroups is denied); root of the namespace we run in (rootless
/// podman's) writes any map of ids it has; anything else is newuidmap's and newgidmap's job,
/// against /etc/subuid and /etc/subgid.
fn write_id_maps(maps: &IdMaps, child: Pid, host: HostFacts) -> Result<(), OciError> {
    let own = |map: &IdMap, id: u32| {
        map.entries.len() == 1 && map.entries[0].outside == id && map.entries[0].count == 1
    };
    let proc_dir = PathBuf::from(format!("/proc/{child}"));
    let write = |name: &str, contents: String| {
        std::fs::write(proc_dir.join(name), &contents).map_err(|source| OciError::IdMap {
            file: name.to_owned(),
            contents,
            source,
        })
    };
    let render = |map: &IdMap| {
        map.entries
            .iter()
            .map(|e| format!("{} {} {}\n", e.inside, e.outside, e.count))
            .collect::<String>()
    };
    if host.euid == 0 {
        write("uid_map", render(&maps.uid))?;
        return write("gid_map", render(&maps.gid));
    }
    if own(&maps.uid, host.euid) && own(&maps.gid, host.egid) {
        write("setgroups", "deny".into())?;
        write("uid_map", render(&maps.uid))?;
        return write("gid_map", render(&maps.gid));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    for (tool, map) in [("newuidmap", &maps.uid), ("newgidmap", &maps.gid)] {
        let program = crate::check::helpers::find_in_path(tool, &path)
            .ok_or(OciError::MissingHelper { tool })?;
        crate::idmap::apply_with_helper(&program, map, child.as_raw())
            .map_err(OciError::IdRanges)?;
    }
    Ok(())
}

/// The pid file, replaced atomically (engines read it as soon as `create` returns).
fn write_pid_file(path: &Path, pid: Pid) -> Result<(), OciError> {
    let io = |source| OciError::Io {
        what: "write the pid file",
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.hutch-oci"));
    std::fs::write(&temporary, pid.to_string()).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// `start`: let the created container's init exec the user's program.
pub fn start(root: &Path, id: &str) -> Result<Vec<String>, OciError> {
    let container = Container::at(root, id)?;
    let record = container.load()?;
    let status = container.status(&record);
    if status != Status::Created {
        return Err(OciError::WrongState {
            id: id.to_owned(),
            status,
            wanted: "created",
        });
    }
    let fifo = container.fifo();
    // O_NONBLOCK: with no reader (the init died just now) this fails with ENXIO instead of
    // waiting forever.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ENXIO) => OciError::WrongState {
                id: id.to_owned(),
                status: Status::Stopped,
                wanted: "created",
            },
            _ => OciError::Io {
                what: "open",
                path: fifo.clone(),
                source,
            },
        })?;
    std::io::Write::write_all(&mut file, b"0").map_err(|source| OciError::Io {
        what: "write",
        path: fifo.clone(),
        source,
    })?;
    drop(file);
    let _ = std::fs::remove_file(&fifo);
    // poststart failures are warnings (runtime-spec): the container runs already.
    let document = state::document(&record, Status::Running);
    Ok(hooks::run_all("poststart", &record.poststart, &document)
        .err()
        .map(|e| vec![e.to_string()])
        .unwrap_or_default())
}

/// `state`: the OCI state document.
pub fn state(root: &Path, id: &str) -> Result<serde_json::Value, OciError> {
    let container = Container::at(root, id)?;
    let record = container.load()?;
    let status = container.status(&record);
    Ok(state::document(&record, status))
}

/// A signal as runc takes it: `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal, OciError> {
    let bad = || OciError::BadSignal {
        signal: text.to_owned(),
    };
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

/// `kill`: signal the init (`all`: every process of the container).
pub fn kill(root: &Path, id: &str, signal: Signal, all: bool) -> Result<(), OciError> {
    let container = Container::at(root, id)?;
    let record = container.load()?;
    let status = container.status(&record);
    if status == Status::Stopped {
        return Err(OciError::WrongState {
            id: id.to_owned(),
            status,
            wanted: "created or running",
        });
    }
    let init = Pid::from_raw(record.pid);
    let pidfd = sys::pidfd_open(init).map_err(OciError::Sys)?;
    // The pidfd names the process for good; check that it is still ours after opening it.
    if !state::alive(&record) {
        return Err(OciError::WrongState {
            id: id.to_owned(),
            status: Status::Stopped,
            wanted: "created or running",
        });
    }
    if all {
        if let Some(path) = &record.cgroup {
            // Every process of the container, also those outside its pid namespace (`exec`'d
            // ones are in both) and those forked meanwhile, for SIGKILL (cgroup.kill).
            if signal == Signal::SIGKILL {
                // The init too: it is in the cgroup.
                cgroup::kill(path);
                return Ok(());
            }
            for pid in cgroup::pids(path) {
                if pid != init.as_raw() {
                    let _ = sys::kill(Pid::from_raw(pid), signal as i32);
                }
            }
        }
        for pid in processes(&record)? {
            if pid != init {
                let _ = sys::kill(pid, signal as i32);
            }
        }
    }
    sys::pidfd_send_signal(pidfd.as_fd(), signal).map_err(OciError::Sys)
}

/// The processes of the container: those in its init's pid namespace, the init first.
pub fn processes(record: &Record) -> Result<Vec<Pid>, OciError> {
    let ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(init_ns) = ns(record.pid) else {
        return Ok(Vec::new());
    };
    let host_ns = std::fs::read_link("/proc/self/ns/pid").ok();
    if host_ns.as_ref() == Some(&init_ns) {
        // No pid namespace of its own: the init is all hutch-oci can name.
        return Ok(vec![Pid::from_raw(record.pid)]);
    }
    let mut pids = vec![Pid::from_raw(record.pid)];
    let entries = std::fs::read_dir("/proc").map_err(|source| OciError::Io {
        what: "list",
        path: "/proc".into(),
        source,
    })?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != record.pid && ns(pid).as_ref() == Some(&init_ns) {
            pids.push(Pid::from_raw(pid));
        }
    }
    Ok(pids)
}

/// `delete`: remove a stopped (or, with `force`, any) container; poststop hooks run.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<Vec<String>, OciError> {
    let container = Container::at(root, id)?;
    let record = match container.load() {
        Ok(record) => record,
        Err(OciStateError::Damaged { .. }) if force => {
            container.remove()?;
            return Ok(Vec::new());
        }
        // runc's answer: engines `delete --force` after a failed create (whose directory may hold
        // no state yet) and again while cleaning up (containerd's shim does); gone is what they
        // asked for.
        Err(OciStateError::NotFound { .. }) if force => {
            container.remove()?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    let status = container.status(&record);
    match status {
        Status::Stopped => {}
        // A container that was never started is deleted (killed) without --force, as runc does:
        // engines and harnesses written against runc rely on it, and refusing would leave its
        // init waiting for good. (The runtime-spec would have an error; runc's practice wins.)
        Status::Created | Status::Creating => kill_and_wait(&record)?,
        Status::Running if force => kill_and_wait(&record)?,
        Status::Running => {
            return Err(OciError::WrongState {
                id: id.to_owned(),
                status,
                wanted: "stopped (or --force)",
            })
        }
    }
    if let Some(path) = &record.cgroup {
        // What is left in it (a process that escaped the pid namespace: none should) is killed
        // with cgroup.kill, and the cgroup removed if it is ours.
        if record.cgroup_made {
            cgroup::remove(path);
        } else {
            cgroup::kill(path);
        }
    }
    let document = state::document(&record, Status::Stopped);
    let warnings = hooks::run_all("poststop", &record.poststop, &document)
        .err()
        .map(|e| vec![e.to_string()])
        .unwrap_or_default();
    container.remove()?;
    Ok(warnings)
}

/// SIGKILL the init (and with it its pid namespace) and wait until it is gone.
fn kill_and_wait(record: &Record) -> Result<(), OciError> {
    let Ok(pidfd) = sys::pidfd_open(Pid::from_raw(record.pid)) else {
        return Ok(());
    };
    if !state::alive(record) {
        return Ok(());
    }
    if let Ok(pids) = processes(record) {
        for pid in pids.iter().skip(1) {
            let _ = sys::kill(*pid, libc::SIGKILL);
        }
    }
    sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL).map_err(OciError::Sys)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::alive(record) {
        if Instant::now() > deadline {
            return Err(OciError::StillRunning {
                id: record.id.clone(),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
