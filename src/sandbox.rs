//! Launching one sandbox: the launcher's side and the ordered set-up inside.
//!
//! The launcher clones one child into new user, mount, pid, ipc, uts, net and cgroup namespaces.
//! That child maps its own ids, builds its root (while it makes its network namespace, unless
//! pasta needs that at once), and becomes PID 1 (see `init`). The launcher
//! forwards signals to it and exits with the payload's status. If the launcher dies, even by
//! SIGKILL, the kernel kills PID 1 (parent-death signal) and with it the whole pid namespace.
//! With `--net pasta` the launcher also starts pasta on the new network namespace and lets the
//! sandbox go on once pasta has configured it (see `net::pasta`).

use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::caps::{self, CapsError};
use crate::channel::{self, GoWaiter, LifelineWatch, Report, ReportWriter};
use crate::error;
use crate::idmap::{self, IdMapError};
use crate::init;
use crate::landlock::{self, LandlockError};
use crate::limits::{self, LimitError};
use crate::mounts::{self, MountError, MountOp};
use crate::net::{self, HostNet, NetError, Pasta, UserNet};
use crate::profile::NetMode;
use crate::seccomp::{self, SeccompError};
use crate::spec::SandboxSpec;
use crate::subid::IdPlan;
use crate::sys::{self, Errno, SysError};

const PROC_SYS: &str = "/proc/sys";

/// Signals the launcher passes on to the payload (through init).
const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot prepare the launch")]
    Prepare(#[source] SysError),
    #[error("cannot create the sandbox's namespaces")]
    Clone(#[source] SysError),
    #[error("lost track of the sandbox")]
    Wait(#[source] SysError),
    #[error("cannot prepare the system call filter")]
    Seccomp(#[source] SeccompError),
    #[error("cannot create {}", path.display())]
    CreateSource {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Network(#[from] NetError),
    #[error("cannot map the sandbox's id ranges")]
    IdRanges(#[source] idmap::HelperError),
    /// A failure inside the sandbox, already rendered there (with its hint).
    #[error("{}", .0.message)]
    Inside(Report),
}

impl LaunchError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LaunchError::Clone(e)
                if matches!(e.errno, Errno::EPERM | Errno::ENOSPC | Errno::EACCES) =>
            {
                Some(crate::diagnose::userns_hint(Path::new(PROC_SYS)))
            }
            LaunchError::Network(e) => e.hint(),
            LaunchError::IdRanges(e) => e.hint(),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> u8 {
        match self {
            LaunchError::Inside(report) => report.status,
            _ => 125,
        }
    }
}

/// The signals a launcher takes with sigwaitinfo: those it forwards, and SIGCHLD.
pub fn launcher_signals() -> SigSet {
    let mut signals = SigSet::empty();
    for &signal in FORWARDED {
        signals.add(signal);
    }
    signals.add(Signal::SIGCHLD);
    signals.add(Signal::SIGIO);
    signals
}

/// Block `signals` and make sure children's exits are reported (not auto-reaped).
pub fn take_signals(signals: &SigSet) -> Result<(), LaunchError> {
    // Blocked before the clone so that the child inherits the mask and no signal is lost
    // between the clone and the wait loops; both sides take them with sigwaitinfo.
    sys::block_signals(signals).map_err(LaunchError::Prepare)?;
    sys::default_disposition(Signal::SIGCHLD).map_err(LaunchError::Prepare)
}

/// A sandbox whose PID 1 exists; set-up may still be running inside.
pub struct Started {
    /// PID 1 of the sandbox, as the launcher's pid namespace sees it.
    pub init: Pid,
    report: Option<channel::ReportReader>,
    lifeline: Option<channel::LifelineHolder>,
    /// The sandbox's pasta (`--net pasta`); ends when this is dropped.
    pub network: Option<Pasta>,
    /// Where PID 1 reports the payload's exit status.
    pub exit: channel::ExitReader,
}

impl Started {
    /// Block until the sandbox runs its payload (or, without one, is idle): `None`; or a
    /// failure reported from inside.
    pub fn wait_until_running(&mut self) -> Option<Report> {
        let report = self.report.take()?.wait_until_running();
        self.lifeline = None;
        report
    }
}

/// Clone PID 1 of a new sandbox for `spec`; `signals` must already be taken
/// ([`take_signals`]). A spec without a command gets an idle init (persistent environments).
pub fn start(spec: &SandboxSpec, signals: &SigSet) -> Result<Started, LaunchError> {
    // Everything the child applies is prepared here, before the clone: the child only acts.
    let hardening = Hardening::prepare(spec)?;
    // A missing pasta or a taken port is found before anything exists that must be undone.
    let pasta = match &hardening.network {
        Some(network) => {
            let program = net::locate_pasta()?;
            net::probe_host_ports(&network.publish)?;
            let (sender, waiter) = channel::go_pipe("network").map_err(LaunchError::Prepare)?;
            Some((program, network, sender, waiter))
        }
        None => None,
    };
    for dir in &spec.create_sources {
        create_private_dir(dir)?;
    }
    let (reader, writer) = channel::report_pipe().map_err(LaunchError::Prepare)?;
    let (holder, watch) = channel::lifeline().map_err(LaunchError::Prepare)?;
    let (exit_reader, exit_writer) = channel::exit_pipe().map_err(LaunchError::Prepare)?;
    let ids_go = match &spec.id_ranges {
        Some(_) => Some(channel::go_pipe("id maps").map_err(LaunchError::Prepare)?),
        None => None,
    };

    let flags = clone_namespaces(spec);
    let (pasta, waiter) = match pasta {
        Some((program, network, sender, waiter)) => {
            (Some((program, network, sender)), Some(waiter))
        }
        None => (None, None),
    };
    let child = match sys::clone_into_namespaces(flags).map_err(LaunchError::Clone)? {
        None => {
            drop(reader);
            drop(holder);
            drop(pasta);
            drop(exit_reader);
            let ids_waiter = ids_go.map(|(_, waiter)| waiter);
            inside(
                spec,
                &hardening,
                writer,
                exit_writer,
                watch,
                ids_waiter,
                waiter,
                signals,
            )
        }
        Some(child) => child,
    };
    drop(writer);
    drop(exit_writer);
    drop(watch);
    drop(waiter);
    tracing::debug!(pid = child.as_raw(), "sandbox started");
    if let (Some(plan), Some((sender, waiter))) = (&spec.id_ranges, ids_go) {
        drop(waiter);
        if let Err(e) = map_ranges(plan, child) {
            let _ = sys::kill(child, libc::SIGKILL);
            let _ = waitpid(child, None);
            return Err(e);
        }
        let _ = sender.go();
    }
    // pasta joins the child's namespaces while the child builds its root; the child waits for
    // the word before it runs anything of the user's.
    let network = match pasta {
        Some((program, network, sender)) => match Pasta::start(&program, network, child.as_raw()) {
            Ok(pasta) => {
                // Should the child be gone already, its own report says why.
                let _ = sender.go();
                Some(pasta)
            }
            Err(e) => {
                let _ = sys::kill(child, libc::SIGKILL);
                let _ = waitpid(child, None);
                // A sandbox that failed on its own says why; pasta then only lost its target.
                if let Some(report) = reader.wait_until_running() {
                    return Err(LaunchError::Inside(report));
                }
                return Err(e.into());
            }
        },
        None => None,
    };
    Ok(Started {
        init: child,
        report: Some(reader),
        lifeline: Some(holder),
        network,
        exit: exit_reader,
    })
}

/// Write the child's uid and gid maps with newuidmap/newgidmap (its subordinate ranges).
fn map_ranges(plan: &IdPlan, child: Pid) -> Result<(), LaunchError> {
    if let IdPlan::Ranges {
        uid_map,
        gid_map,
        newuidmap,
        newgidmap,
    } = plan
    {
        idmap::apply_with_helper(newuidmap, uid_map, child.as_raw())
            .map_err(LaunchError::IdRanges)?;
        idmap::apply_with_helper(newgidmap, gid_map, child.as_raw())
            .map_err(LaunchError::IdRanges)?;
    }
    Ok(())
}

/// The namespaces a sandbox for `spec` has of its own: all but the network one with `--net
/// host`.
pub fn namespaces(spec: &SandboxSpec) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWCGROUP;
    if spec.net.own_namespace() {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    flags
}

/// Whether the child makes its network namespace itself, while another thread builds the root
/// file system. Creating a network namespace is the costliest part of a start-up (about 0.6 ms
/// on a 2-core VM, as long as all the mounts); doing both at once hides it. pasta joins the
/// namespace by the child's pid as soon as the child exists, so with pasta it must come with
/// the clone.
fn network_in_parallel(spec: &SandboxSpec) -> bool {
    spec.net.own_namespace() && spec.net != NetMode::Pasta
}

/// The namespaces the child is cloned into: [`namespaces`] less the network one when the child
/// makes that itself ([`network_in_parallel`]).
fn clone_namespaces(spec: &SandboxSpec) -> CloneFlags {
    let mut flags = namespaces(spec);
    if network_in_parallel(spec) {
        flags.remove(CloneFlags::CLONE_NEWNET);
    }
    flags
}

/// Run `spec` to completion; the payload's exit status, shell style.
pub fn run(spec: &SandboxSpec) -> Result<u8, LaunchError> {
    let signals = launcher_signals();
    take_signals(&signals)?;
    let mut started = start(spec, &signals)?;
    let report = started.wait_until_running();
    let status = wait_forwarding(started.init, &signals, Some(&started.exit))?;
    match report {
        Some(report) => Err(LaunchError::Inside(Report { status, ..report })),
        None => Ok(status),
    }
}

/// A directory only its owner can enter, with any missing parents.
fn create_private_dir(path: &Path) -> Result<(), LaunchError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| LaunchError::CreateSource {
            path: path.to_owned(),
            source,
        })
}

/// Forward signals to `child` until it ends, or until PID 1 reports the status on `exit`.
pub(crate) fn wait_forwarding(
    child: Pid,
    signals: &SigSet,
    exit: Option<&channel::ExitReader>,
) -> Result<u8, LaunchError> {
    loop {
        let received = sys::wait_for_signal(signals).map_err(LaunchError::Wait)?;
        if received.signal == Signal::SIGIO as i32 {
            if let Some(status) = exit.and_then(channel::ExitReader::try_status) {
                return Ok(status);
            }
        } else if received.signal == Signal::SIGCHLD as i32 {
            let status = waitpid(child, Some(WaitPidFlag::WNOHANG)).map_err(|errno| {
                LaunchError::Wait(SysError {
                    call: format!("waitpid({child})"),
                    errno,
                })
            })?;
            if let Some(code) = init::exit_status(status) {
                return Ok(code);
            }
        } else if !received.from_terminal_or_kernel() {
            // Signals the terminal raises (Ctrl-C, resize) reach the payload directly: it shares
            // our process group. Only signals sent to hutch by a process need passing on.
            let _ = sys::kill(child, received.signal);
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("cannot ask for a parent-death signal")]
    ParentDeathSignal(#[source] SysError),
    #[error("hutch exited before the sandbox was set up")]
    LauncherGone,
    #[error("cannot map user and group ids")]
    IdMap(#[source] IdMapError),
    #[error("cannot build the sandbox's file system")]
    Mount(#[source] MountError),
    #[error("cannot set the hostname")]
    Hostname(#[source] SysError),
    #[error("cannot create the network namespace")]
    Network(#[source] SysError),
    #[error("cannot bring up the loopback interface")]
    Loopback(#[source] SysError),
    #[error("cannot start a thread to build the file system: {0}")]
    Thread(String),
    #[error("cannot enter the working directory {} inside the sandbox", dir.display())]
    Workdir {
        dir: std::path::PathBuf,
        #[source]
        source: SysError,
    },
    #[error("cannot set no_new_privs")]
    NoNewPrivs(#[source] SysError),
    #[error("cannot apply resource limits")]
    Limits(#[source] LimitError),
    #[error("cannot make init non-dumpable")]
    NotDumpable(#[source] SysError),
    #[error("cannot drop capabilities")]
    Capabilities(#[source] CapsError),
    #[error("cannot restrict file access")]
    Landlock(#[source] LandlockError),
    #[error("cannot restrict system calls")]
    Seccomp(#[source] SeccompError),
}

impl SetupError {
    fn hint(&self) -> Option<String> {
        let proc_sys = Path::new(PROC_SYS);
        match self {
            SetupError::IdMap(e) => e.hint(proc_sys),
            SetupError::Mount(e) => e.hint(proc_sys),
            SetupError::Landlock(e) => e.hint(),
            SetupError::Limits(e) => e.hint(),
            SetupError::Seccomp(e) => e.hint(),
            SetupError::Network(e) if matches!(e.errno, Errno::EPERM | Errno::ENOSPC) => Some(
                "a limit (user.max_net_namespaces) or a container's policy forbids another \
                 network namespace; `--net host` shares the host's network instead"
                    .into(),
            ),
            SetupError::Thread(_) => Some(
                "no more threads may start (ulimit -u, kernel.threads-max, memory); `--net host` \
                 or `--net pasta` set up without the second thread"
                    .into(),
            ),
            SetupError::Workdir { .. } => Some(
                "the directory is not visible in the sandbox; pass --chdir DIR, or --bind it"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The child: set everything up, then become init. Never returns.
#[allow(clippy::too_many_arguments)]
fn inside(
    spec: &SandboxSpec,
    hardening: &Hardening,
    report: ReportWriter,
    exit: channel::ExitWriter,
    watch: LifelineWatch,
    ids: Option<GoWaiter>,
    network: Option<GoWaiter>,
    signals: &SigSet,
) -> ! {
    match set_up(spec, hardening, &watch, ids, network) {
        Ok(()) => {
            drop(watch);
            init::run(spec, report, exit, signals)
        }
        Err(SetupError::LauncherGone) => std::process::exit(125),
        Err(err) => {
            let hint = err.hint();
            report.failed(125, &error::render(&err, hint.as_deref()));
            std::process::exit(125)
        }
    }
}

/// The set-up inside the new namespaces, in an order that matters.
fn set_up(
    spec: &SandboxSpec,
    hardening: &Hardening,
    watch: &LifelineWatch,
    ids: Option<GoWaiter>,
    network: Option<GoWaiter>,
) -> Result<(), SetupError> {
    // 1. Die with the launcher. The launcher may already have died between clone and prctl, so
    //    check its lifeline pipe once the signal is armed (prctl(2), PR_SET_PDEATHSIG).
    sys::set_parent_death_signal(Signal::SIGKILL).map_err(SetupError::ParentDeathSignal)?;
    if watch.launcher_gone().unwrap_or(true) {
        return Err(SetupError::LauncherGone);
    }
    // 2. Id maps before anything that creates files, so that files the sandbox makes are owned
    //    by the user. We hold every capability in the new user namespace until the payload's
    //    execve, and the kernel lets us map our own id without a helper (user_namespaces(7)).
    //    With subordinate ranges only the setuid helpers may write the maps: the launcher runs
    //    them on us and says when they are done.
    match ids {
        Some(mapped) => {
            if !mapped.wait_for_go() {
                return Err(SetupError::LauncherGone);
            }
        }
        None => {
            idmap::write_own_maps(&spec.ids, Path::new("/proc/self")).map_err(SetupError::IdMap)?
        }
    }
    // 3. The file system: everything is built under a scratch root, then pivot_root.
    // 4. The uts and net namespaces are ours: name the host, bring up loopback.
    // (With the network made beside the mounts, the bounding set (step 6) and the Landlock
    // ruleset (step 8) are made beside them too; they are enforced in their places.)
    let (landlock, bounding_limited) = if network_in_parallel(spec) {
        (build_root_beside_network(spec, hardening)?, true)
    } else {
        mounts::build_root(&hardening.mount_ops).map_err(SetupError::Mount)?;
        sys::sethostname(&spec.hostname).map_err(SetupError::Hostname)?;
        if spec.net.own_namespace() {
            sys::loopback_up().map_err(SetupError::Loopback)?;
        }
        (prepare_landlock(spec, hardening)?, false)
    };
    // 4b. With pasta: wait until the launcher has seen pasta configure the interface. pasta
    //     joins us through /proc/PID/ns, which the kernel allows only while we are dumpable
    //     (step 5 ends that), and nothing of the user's may run before the network is there.
    if let Some(network) = network {
        if !network.wait_for_go() {
            return Err(SetupError::LauncherGone);
        }
    }
    // Limits before anything of the user's runs; only lowering needs no privilege.
    limits::apply(&spec.limits).map_err(SetupError::Limits)?;
    sys::chdir(&spec.workdir).map_err(|source| SetupError::Workdir {
        dir: spec.workdir.clone(),
        source,
    })?;
    // 5. With a payload, nothing inside may ptrace init or read its /proc entries: init is the
    //    one process in the sandbox that never execs, so the kernel would leave it dumpable,
    //    and payload and init share one Landlock domain. An environment's idle init stays
    //    dumpable: `hutch exec` joins its namespaces through it, which a non-dumpable target
    //    refuses; the commands it joins get Landlock domains of their own, which may not trace
    //    init, and init holds nothing they lack (it closes every inherited descriptor).
    if !spec.argv.is_empty() {
        sys::set_dumpable(false).map_err(SetupError::NotDumpable)?;
    }
    // 6. Capabilities: every set cut to what the payload may keep (nothing for a user mapped
    //    to itself). The bounding set goes first, while CAP_SETPCAP is still held.
    if !bounding_limited {
        caps::limit_bounding(spec.capabilities, hardening.last_capability)
            .map_err(SetupError::Capabilities)?;
    }
    caps::restrict_sets(spec.capabilities).map_err(SetupError::Capabilities)?;
    // 7. From here on no execve may grant privileges (setuid binaries, file capabilities);
    //    seccomp(2) also requires it of an unprivileged caller.
    sys::set_no_new_privs().map_err(SetupError::NoNewPrivs)?;
    // 8. Landlock after the mounts it describes exist (rules hold open file descriptors of
    //    them) and before seccomp, whose filter does not need to allow Landlock's own calls.
    match landlock {
        Some(prepared) => {
            let status = landlock::enforce(prepared).map_err(SetupError::Landlock)?;
            tracing::debug!(?status.ruleset, "Landlock");
        }
        None => tracing::debug!("Landlock off"),
    }
    // 9. seccomp last: from here on the filter applies to init and, inherited, to the payload.
    seccomp::apply(&hardening.seccomp).map_err(SetupError::Seccomp)?;
    Ok(())
}

/// The Landlock ruleset of step 8, made once the mounts it describes exist (rules hold open
/// file descriptors of them).
fn prepare_landlock(
    spec: &SandboxSpec,
    hardening: &Hardening,
) -> Result<Option<landlock::Prepared>, SetupError> {
    landlock::prepare(
        &hardening.landlock_rules,
        &spec.tcp_ports,
        spec.landlock_scopes,
        spec.landlock,
    )
    .map_err(SetupError::Landlock)
}

/// Steps 3 and 4 at once: a second thread builds the root, then the Landlock ruleset, while
/// this one makes the network namespace and limits its bounding set (see
/// [`network_in_parallel`]). Threads share the mount namespace, the root and the descriptors;
/// credentials and namespaces are each thread's own, and only this thread changes its own.
/// The process is single-threaded again before anything is enforced that holds for the
/// calling thread alone (capabilities, no_new_privs, Landlock, seccomp).
fn build_root_beside_network(
    spec: &SandboxSpec,
    hardening: &Hardening,
) -> Result<Option<landlock::Prepared>, SetupError> {
    // Mounting needs little stack; a small one is mapped and torn down faster.
    const STACK: usize = 256 * 1024;
    // The thread takes PID 2 of the new pid namespace; the payload should have it, as it does
    // without the thread. The kernel gives out the number after ns_last_pid next, and lets the
    // namespace's own admin (us, for now) set it; the file is opened while the host's /proc is
    // still there. Best effort: where it cannot be written, the payload is PID 3.
    let last_pid = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/kernel/ns_last_pid")
        .ok();
    let built = std::thread::scope(|scope| {
        let mounting = std::thread::Builder::new()
            .name("hutch-mounts".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || {
                mounts::build_root(&hardening.mount_ops).map_err(SetupError::Mount)?;
                prepare_landlock(spec, hardening)
            })
            .map_err(|e| SetupError::Thread(e.to_string()))?;
        let network = sys::unshare(CloneFlags::CLONE_NEWNET)
            .map_err(SetupError::Network)
            .and_then(|()| sys::loopback_up().map_err(SetupError::Loopback))
            .and_then(|()| sys::sethostname(&spec.hostname).map_err(SetupError::Hostname))
            .and_then(|()| {
                caps::limit_bounding(spec.capabilities, hardening.last_capability)
                    .map_err(SetupError::Capabilities)
            });
        // Wait for the mounts even when the network failed: no thread may outlive this.
        let root = match mounting.join() {
            Ok(built) => built,
            Err(_) => Err(SetupError::Thread("the mounting thread panicked".into())),
        };
        root.and_then(|landlock| network.map(|()| landlock))
    });
    if let Some(mut last_pid) = last_pid {
        use std::io::Write;
        let _ = last_pid.write_all(b"1");
    }
    built
}

/// What the child applies, built by the launcher: the mount plan, the Landlock rules derived
/// from it, and the compiled seccomp program.
pub struct Hardening {
    pub mount_ops: Vec<MountOp>,
    pub landlock_rules: Vec<landlock::PathRule>,
    pub seccomp: seccompiler::BpfProgram,
    /// The highest capability this kernel knows: read here, not on the child's critical path.
    pub last_capability: u32,
    /// The user-mode network (`--net pasta`), resolved against the host's network as it is now:
    /// an environment's supervisor prepares it again at every restart.
    pub network: Option<UserNet>,
}

impl Hardening {
    pub fn prepare(spec: &SandboxSpec) -> Result<Hardening, LaunchError> {
        let mut mount_ops = mounts::plan(&spec.mounts);
        // Sanitised copies (the checkout's .git/config) over the host files they stand for.
        mount_ops.extend(
            spec.hidden
                .files
                .iter()
                .map(|(dst, contents)| MountOp::File {
                    dst: dst.clone(),
                    contents: contents.clone(),
                }),
        );
        let network = (spec.net == NetMode::Pasta)
            .then(|| UserNet::new(&spec.publish, spec.host_loopback, &HostNet::current()));
        if let Some(network) = &network {
            // Last, so they cover whatever the profile put at /etc/resolv.conf and /etc/hosts.
            mount_ops.extend(network.files(&spec.hostname));
        }
        // An interactive sandbox gets its terminal as /dev/console: the host's pty is not in the
        // sandbox's own devpts, and ttyname(3) (so `tty`, ssh, gpg's pinentry) finds it there.
        let dev = spec.mounts.iter().find_map(|m| match m {
            mounts::Mount::Dev { dst } => Some(dst),
            _ => None,
        });
        if let (Some(dev), Some(terminal)) = (dev, sys::stdin_terminal()) {
            mount_ops.push(MountOp::Bind {
                src: terminal,
                dst: dev.join("console"),
                access: mounts::Access::Device,
            });
        }
        let landlock_rules = landlock::rules(&mount_ops);
        let seccomp = seccomp::compile(&spec.seccomp).map_err(LaunchError::Seccomp)?;
        Ok(Hardening {
            mount_ops,
            landlock_rules,
            seccomp,
            last_capability: sys::last_capability(),
            network,
        })
    }
}
