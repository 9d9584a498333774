//! The supervisor: one small detached process per running environment (no threads, no async
//! runtime). It holds the environment's lock, runs PID 1 as its child, and when PID 1 dies of
//! SIGHUP — the kernel's report of reboot(2) inside a pid namespace — starts it again on the
//! same state. SIGINT (poweroff, halt), `hutch stop` or an ordinary exit end it. If the
//! supervisor itself dies, PID 1 follows (parent-death signal) and the lock is released.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::console::Console;
use super::inits::{self, Ask, Conventions, Readiness};
use super::notify::{Notice, NotifySocket};
use super::runtime::{self, Phase, RuntimeState, Status};
use super::{EnvError, EnvPaths};
use crate::sandbox;
use crate::spec::SandboxSpec;
use crate::sys;

/// Restarts allowed within [`CRASH_WINDOW`] before the environment is stopped as crash-looping.
const CRASH_RESTARTS: usize = 5;
const CRASH_WINDOW: Duration = Duration::from_secs(10);

/// What `hutch start` learns from the supervisor it spawned.
const STARTED: &str = "started";
const ALREADY: &str = "already running";

/// Start the environment unless it runs. Returns once PID 1 runs (or the start failed).
pub fn start(
    paths: &EnvPaths,
    spec: &SandboxSpec,
    conventions: &Conventions,
) -> Result<bool, EnvError> {
    if let Status::Running(_) | Status::Starting = runtime::status(paths)? {
        return Ok(false);
    }
    let (mut reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map(|(r, w)| (std::fs::File::from(r), std::fs::File::from(w)))
        .map_err(|errno| EnvError::Sys {
            what: "cannot create a pipe",
            source: sys::SysError {
                call: "pipe2".into(),
                errno,
            },
        })?;
    // SAFETY: `hutch start` and `hutch restart` start no thread (see `crate::child`).
    let fork = unsafe { sys::fork() };
    match fork.map_err(|source| EnvError::Sys {
        what: "cannot start a supervisor",
        source,
    })? {
        None => crate::child::run("starting the supervisor", || {
            drop(reader);
            // A new session without a terminal, then a second fork so the supervisor can never
            // acquire one; the middle process exits at once.
            let _ = sys::setsid();
            // SAFETY: this child of a single-threaded process has the one thread that forked.
            match unsafe { sys::fork() } {
                Ok(None) => crate::child::run("the supervisor", || {
                    supervise(paths, spec, conventions, writer)
                }),
                _ => 0,
            }
        }),
        Some(middle) => {
            drop(writer);
            let _ = waitpid(middle, None);
            // The answer ends with a NUL: PID 1, forked by the supervisor before it answered,
            // holds a copy of the pipe for as long as it runs, so end-of-file never comes.
            let mut answer = Vec::new();
            let _ = std::io::BufReader::new(&mut reader).read_until(0, &mut answer);
            if answer.last() == Some(&0) {
                answer.pop();
            }
            match String::from_utf8_lossy(&answer).as_ref() {
                STARTED => Ok(true),
                ALREADY => Ok(false),
                "" => Err(EnvError::Supervisor {
                    name: paths.name.clone(),
                    message: "it exited without a word".into(),
                }),
                message => Err(EnvError::Supervisor {
                    name: paths.name.clone(),
                    message: message.to_owned(),
                }),
            }
        }
    }
}

fn answer(starter: &mut std::fs::File, message: &str) -> std::io::Result<()> {
    starter.write_all(message.as_bytes())?;
    starter.write_all(b"\0")
}

/// Log a line on the environment's console.
fn say(message: &str) {
    crate::output::note!("hutch: {message}");
}

fn supervise(
    paths: &EnvPaths,
    spec: &SandboxSpec,
    conventions: &Conventions,
    mut starter: std::fs::File,
) -> ! {
    let console = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(paths.console());
    if let Ok(console) = console {
        use std::os::fd::AsRawFd;
        if let Ok(null) = std::fs::File::open("/dev/null") {
            let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
        }
        let _ = nix::unistd::dup2(console.as_raw_fd(), 1);
        let _ = nix::unistd::dup2(console.as_raw_fd(), 2);
    }
    // Another command may hold the lock for an instant while it checks for a dead supervisor;
    // a supervisor that really runs holds it for good.
    let mut lock = runtime::take_lock(paths);
    for _ in 0..50 {
        if !matches!(lock, Ok(None)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        lock = runtime::take_lock(paths);
    }
    let lock = match lock {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            let _ = answer(&mut starter, ALREADY);
            sys::exit_immediately(0)
        }
        Err(e) => {
            let _ = answer(&mut starter, &crate::error::render(&e, None));
            sys::exit_immediately(125)
        }
    };
    runtime::clear(paths);
    if let Err(e) = runtime::make_run_dir(paths) {
        runtime::clear(paths);
        drop(lock);
        let _ = answer(&mut starter, &crate::error::render(&e, e.hint().as_deref()));
        sys::exit_immediately(125);
    }
    let signals = sandbox::launcher_signals();
    if let Err(e) = sandbox::take_signals(&signals) {
        runtime::clear(paths);
        drop(lock);
        let _ = answer(&mut starter, &crate::error::render(&e, None));
        sys::exit_immediately(125);
    }
    let me = Pid::this();
    let mut state = RuntimeState {
        supervisor: me.as_raw(),
        supervisor_start: sys::process_start_time(me).unwrap_or(0),
        init: 0,
        init_start: 0,
        since: 0,
        restarts: 0,
        boot_id: runtime::boot_id(),
        phase: Phase::Running,
        init_status: None,
        cgroup: None,
    };
    // An image's own init gets a socket to say it has booted (bound before PID 1 exists: the
    // environment's mounts include it).
    let notify = if conventions.kind == inits::InitKind::Hutch {
        None
    } else {
        match NotifySocket::bind(paths) {
            Ok(notify) => Some(notify),
            Err(e) => {
                runtime::clear(paths);
                drop(lock);
                let _ = answer(&mut starter, &crate::error::render(&e, e.hint().as_deref()));
                sys::exit_immediately(125);
            }
        }
    };
    // And a console, for its boot and shutdown messages.
    let console = if conventions.kind == inits::InitKind::Hutch {
        None
    } else {
        match Console::open() {
            Ok(console) => Some(console),
            Err(e) => {
                runtime::clear(paths);
                drop(lock);
                let _ = answer(&mut starter, &crate::error::render(&e, e.hint().as_deref()));
                sys::exit_immediately(125);
            }
        }
    };
    let with_console;
    let spec = match &console {
        Some(console) => {
            with_console = SandboxSpec {
                console: Some(console.slave_path.clone()),
                ..spec.clone()
            };
            &with_console
        }
        None => spec,
    };
    let mut starter = Some(starter);
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let _ = std::fs::remove_file(paths.last_stop());
    let reason = loop {
        let mut started = match sandbox::start(spec, &signals) {
            Ok(started) => started,
            Err(e) => break Some(crate::error::render(&e, e.hint().as_deref())),
        };
        if let Some(report) = started.wait_until_running() {
            let _ = waitpid(started.init, None);
            break Some(report.message);
        }
        state.init = started.init.as_raw();
        state.init_start = sys::process_start_time(started.init).unwrap_or(0);
        state.since = super::now();
        let notifies = conventions.ready == Readiness::Notify && notify.is_some();
        state.phase = if notifies {
            Phase::Booting
        } else {
            Phase::Running
        };
        state.init_status = None;
        state.cgroup = started.cgroup.as_ref().map(|leaf| leaf.path.clone());
        if let Err(e) = runtime::write_state(paths, &state) {
            let _ = sys::kill(started.init, libc::SIGKILL);
            let _ = waitpid(started.init, None);
            break Some(crate::error::render(&e, None));
        }
        say(&format!(
            "environment {} {} (PID 1 is {} on the host)",
            paths.name,
            if notifies { "booting" } else { "running" },
            started.init
        ));
        if !notifies {
            if let Some(mut starter) = starter.take() {
                let _ = answer(&mut starter, STARTED);
            }
        }
        shed_start_up_memory();
        let asker = Asker {
            init: started.init,
            paths,
            spec,
            conventions,
        };
        let mut boot = Boot {
            paths,
            state: &mut state,
            notify: notify.as_ref(),
            console: console.as_ref(),
            ready_by: notifies.then(|| Instant::now() + conventions.boot_timeout),
            starter: &mut starter,
            frozen: false,
        };
        let (status, request) = wait_for_init(&asker, &signals, &mut boot);
        if boot.frozen {
            let _ = waitpid(started.init, None);
            break Some(format!(
                "stopped: PID 1 ({}) did not report that it had booted (READY=1) within {} s",
                conventions.kind,
                conventions.boot_timeout.as_secs()
            ));
        }
        if let Some(leaf) = started.cgroup.take() {
            sandbox::report_oom(spec, &leaf);
            // cgroup.kill: nothing PID 1 left behind survives it, before a restart either.
            drop(leaf);
        }
        if starter.is_some() && request != Request::Stop {
            break Some(format!(
                "PID 1 ended before it reported that it had booted ({})",
                describe(status)
            ));
        }
        let rebooted = matches!(status, WaitStatus::Signaled(_, Signal::SIGHUP, _));
        let restart_requested = request == Request::Restart;
        if request == Request::Stop || !(rebooted || restart_requested) {
            say(&format!(
                "environment {} stopped ({})",
                paths.name,
                describe(status)
            ));
            break None;
        }
        let now = Instant::now();
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > CRASH_WINDOW)
        {
            recent.pop_front();
        }
        if recent.len() >= CRASH_RESTARTS {
            break Some(format!(
                "stopped: restarted {} times within {} s (crash loop)",
                recent.len(),
                CRASH_WINDOW.as_secs()
            ));
        }
        state.restarts += 1;
        say(&format!(
            "environment {} restarting ({})",
            paths.name,
            if rebooted {
                "reboot from inside"
            } else {
                "hutch restart"
            }
        ));
    };
    if let Some(reason) = &reason {
        say(reason);
        let _ = std::fs::write(paths.last_stop(), reason);
    }
    // Stopped for good before a waiting `hutch start` hears why: what it reads next must not
    // be a supervisor still on its way out.
    runtime::clear(paths);
    drop(lock);
    if let Some(mut starter) = starter.take() {
        // Without a reason, `hutch stop` came while the init was booting.
        let message = reason
            .as_deref()
            .unwrap_or("it was stopped before its init had booted");
        let _ = answer(&mut starter, message);
    }
    sys::exit_immediately(if reason.is_some() { 1 } else { 0 })
}

/// Give back what starting PID 1 left in memory. The supervisor and an idle PID 1 live as long
/// as their environment, but what they touched on the way there (hutch's code and tables for
/// parsing the command line and profiles and building the sandbox: about 1.6 MiB of a lone
/// environment's 2.2 MiB PSS) they will not touch again until a restart. Their own data stays.
/// A restart faults the code back in from the page cache, which costs microseconds. Simpler
/// than re-executing a lean supervisor, which would have to be handed the spec and would still
/// map the same binary.
pub(crate) fn shed_start_up_memory() {
    match sys::release_executable_pages() {
        Ok(bytes) => tracing::debug!(bytes, "released start-up pages of the executable"),
        Err(e) => tracing::debug!(error = %e, "cannot release start-up pages"),
    }
    sys::trim_heap();
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("PID 1 exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("PID 1 was killed by {signal}"),
        other => format!("{other:?}"),
    }
}

/// What was asked of the supervisor while PID 1 ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    None,
    /// `hutch restart` (SIGUSR1).
    Restart,
    /// `hutch stop` (SIGTERM), or SIGINT/SIGHUP: whatever PID 1 dies of, do not restart it.
    Stop,
}

/// Passes `hutch stop` and `hutch restart` on to PID 1 the way its init takes them.
struct Asker<'a> {
    init: Pid,
    paths: &'a EnvPaths,
    spec: &'a SandboxSpec,
    conventions: &'a Conventions,
}

impl Asker<'_> {
    fn stop(&self) {
        self.ask(&self.conventions.stop, "stop");
    }

    /// The init's own reboot where it has one; else a stop, and the supervisor starts it again.
    fn reboot(&self) {
        match &self.conventions.reboot {
            Some(ask) => self.ask(ask, "reboot"),
            None => self.stop(),
        }
    }

    fn ask(&self, ask: &Ask, what: &str) {
        match ask {
            Ask::Signal(signal) => {
                if self.conventions.kind != inits::InitKind::Hutch {
                    say(&format!(
                        "asking PID 1 ({}) to {what} with {}",
                        self.conventions.kind,
                        inits::signal_name(*signal)
                    ));
                }
                let _ = sys::kill(self.init, *signal);
            }
            Ask::Command(argv) => {
                say(&format!(
                    "asking PID 1 ({}) to {what}: `{}` inside",
                    self.conventions.kind,
                    argv.join(" ")
                ));
                if let Err(e) = self.run_inside(argv) {
                    // Nothing asked it, so nothing will stop it but `hutch stop`'s SIGKILL.
                    say(&format!("cannot run `{}` inside: {e}", argv.join(" ")));
                }
            }
        }
    }

    /// Run `argv` in the environment as `hutch exec` would, without waiting for it: a child
    /// joins (setns changes the caller, which must not be the supervisor) and its own child
    /// runs the command; the middle one is reaped here at once, the last one by the host.
    fn run_inside(&self, argv: &[String]) -> Result<(), sys::SysError> {
        let argv: Vec<std::ffi::CString> = argv
            .iter()
            .filter_map(|a| std::ffi::CString::new(a.as_str()).ok())
            .collect();
        // SAFETY: the supervisor is single-threaded (see `crate::child`).
        match unsafe { sys::fork() }? {
            None => crate::child::run("asking the init", || {
                // SAFETY: this child of a single-threaded process has the one thread that forked.
                match unsafe { sys::fork() } {
                    Ok(None) => crate::child::run("a command for the init", || {
                        match super::join::exec(
                            self.paths,
                            self.spec,
                            Some(argv.clone()),
                            None,
                            Default::default(),
                        ) {
                            Ok(status) => status as i32,
                            Err(e) => {
                                say(&crate::error::render(&e, None));
                                125
                            }
                        }
                    }),
                    _ => 0,
                }
            }),
            Some(middle) => {
                let _ = waitpid(middle, None);
                Ok(())
            }
        }
    }
}

/// One boot of PID 1 as the supervisor follows it: what the init says on the notification
/// socket goes into the state (and, with `READY=1`, to a waiting `hutch start`).
struct Boot<'a> {
    paths: &'a EnvPaths,
    state: &'a mut RuntimeState,
    notify: Option<&'a NotifySocket>,
    console: Option<&'a Console>,
    /// Until when the init may boot; `None` once it has (or when it does not say).
    ready_by: Option<Instant>,
    starter: &'a mut Option<std::fs::File>,
    /// It did not boot in time and was killed.
    frozen: bool,
}

impl Boot<'_> {
    fn heard(&mut self, notices: Vec<Notice>) {
        let before = (self.state.phase, self.state.init_status.clone());
        for notice in notices {
            if let Some(status) = notice.status {
                self.state.init_status = Some(status);
            }
            if notice.ready && self.state.phase == Phase::Booting {
                self.state.phase = Phase::Running;
                self.ready_by = None;
            }
            if notice.stopping {
                self.state.phase = Phase::Stopping;
            }
        }
        if (self.state.phase, self.state.init_status.clone()) == before {
            return;
        }
        let _ = runtime::write_state(self.paths, self.state);
        if before.0 == Phase::Booting && self.state.phase == Phase::Running {
            say(&format!("environment {} running (booted)", self.paths.name));
            if let Some(mut starter) = self.starter.take() {
                let _ = answer(&mut starter, STARTED);
            }
        }
    }
}

/// Wait until PID 1 ends, passing requests on to it by its init's conventions. Returns PID 1's
/// status and the last request. An init that has not booted by `boot.ready_by` is killed.
fn wait_for_init(
    asker: &Asker,
    signals: &nix::sys::signal::SigSet,
    boot: &mut Boot,
) -> (WaitStatus, Request) {
    let init = asker.init;
    let mut request = Request::None;
    loop {
        let received = match boot.ready_by {
            Some(deadline) => sys::wait_for_signal_until(
                signals,
                deadline.saturating_duration_since(Instant::now()),
            ),
            None => sys::wait_for_signal(signals).map(Some),
        };
        let received = match received {
            Ok(Some(received)) => received,
            Ok(None) => {
                say(&format!(
                    "PID 1 ({}) has not booted within {} s: killing it",
                    asker.conventions.kind,
                    asker.conventions.boot_timeout.as_secs()
                ));
                boot.frozen = true;
                let _ = sys::kill(init, libc::SIGKILL);
                return (WaitStatus::StillAlive, Request::Stop);
            }
            Err(_) => return (WaitStatus::StillAlive, Request::Stop),
        };
        match Signal::try_from(received.signal) {
            Ok(Signal::SIGIO) => {
                if let Some(console) = boot.console {
                    console.drain();
                }
                if let Some(notify) = boot.notify {
                    boot.heard(notify.drain());
                }
            }
            Ok(Signal::SIGCHLD) => match waitpid(init, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => {
                    // Its last words.
                    if let Some(console) = boot.console {
                        console.drain();
                    }
                    return (status, request);
                }
                Err(_) => return (WaitStatus::StillAlive, Request::Stop),
            },
            Ok(Signal::SIGUSR1) if request != Request::Stop => {
                request = Request::Restart;
                asker.reboot();
            }
            Ok(Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP) => {
                request = Request::Stop;
                asker.stop();
            }
            _ => {}
        }
    }
}

/// Stop the environment: ask its supervisor (which passes it on to PID 1 and will not restart
/// it, whatever PID 1 dies of), SIGKILL PID 1 after `grace` seconds; returns when the supervisor
/// is gone. `Ok(false)` when it was not running.
pub fn stop(paths: &EnvPaths, grace: u64) -> Result<bool, EnvError> {
    // A start in progress gets a moment to write its state.
    runtime::wait_for(5, || Ok(runtime::status(paths)? != Status::Starting))?;
    let state = match runtime::status(paths)? {
        Status::Running(state) => state,
        Status::Stopped => return Ok(false),
        Status::Starting => {
            return Err(EnvError::Timeout {
                name: paths.name.clone(),
                what: "finish starting",
                seconds: 5,
            })
        }
    };
    let stopped = || Ok(runtime::status(paths)? == Status::Stopped);
    let pidfd = sys::pidfd_open(state.init_pid()).map_err(|source| EnvError::Sys {
        what: "cannot reach PID 1",
        source,
    })?;
    if !state.init_alive() {
        // The pid was reused between reading the state and opening it: nothing of ours to stop.
        return runtime::wait_for(5, stopped);
    }
    if let Some(supervisor) = state.supervisor_pidfd() {
        let _ = sys::pidfd_send_signal(supervisor.as_fd(), Signal::SIGTERM);
    } else {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGTERM);
    }
    if !runtime::wait_for(grace, stopped)? {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL);
        if let Some(cgroup) = &state.cgroup {
            // Everything in the environment's cgroup at once, also what escaped PID 1's pid
            // namespace teardown by a fork in the meantime; the supervisor removes the cgroup.
            crate::cgroup::kill(cgroup);
        }
        if !runtime::wait_for(10, stopped)? {
            return Err(EnvError::Timeout {
                name: paths.name.clone(),
                what: "stop",
                seconds: grace + 10,
            });
        }
    }
    Ok(true)
}

/// Restart a running environment in place (same supervisor), or start a stopped one.
pub fn restart(
    paths: &EnvPaths,
    spec: &SandboxSpec,
    conventions: &Conventions,
) -> Result<(), EnvError> {
    runtime::wait_for(5, || Ok(runtime::status(paths)? != Status::Starting))?;
    let state = match runtime::status(paths)? {
        Status::Running(state) => state,
        Status::Stopped => return start(paths, spec, conventions).map(drop),
        Status::Starting => {
            return Err(EnvError::Timeout {
                name: paths.name.clone(),
                what: "finish starting",
                seconds: 5,
            })
        }
    };
    let Some(supervisor) = state.supervisor_pidfd() else {
        return Err(EnvError::NotRunning {
            name: paths.name.clone(),
        });
    };
    sys::pidfd_send_signal(supervisor.as_fd(), Signal::SIGUSR1).map_err(|source| {
        EnvError::Sys {
            what: "cannot reach the supervisor",
            source,
        }
    })?;
    // A new PID 1, booted if its init says so.
    let seconds = 30 + conventions.boot_timeout.as_secs();
    let restarted = runtime::wait_for(seconds, || {
        Ok(match runtime::status(paths)? {
            Status::Running(now) => {
                (now.init != state.init || now.init_start != state.init_start)
                    && now.phase != Phase::Booting
            }
            Status::Stopped => {
                return Err(EnvError::Supervisor {
                    name: paths.name.clone(),
                    message: "it stopped instead of restarting".into(),
                })
            }
            Status::Starting => false,
        })
    })?;
    if restarted {
        Ok(())
    } else {
        Err(EnvError::Timeout {
            name: paths.name.clone(),
            what: "restart",
            seconds,
        })
    }
}
