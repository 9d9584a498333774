//! Everything that runs in a child between clone(2)/fork(2) and execve(2), or in its place:
//! the one way such a child lives ([`run`]), and the sandbox's set-up inside its new
//! namespaces ([`inside`]: id maps, root file system, network, limits, capabilities,
//! no_new_privs, Landlock, seccomp, in that order), until the child becomes init.
//!
//! The contract, for every child hutch makes (the sandbox's PID 1 here; the supervisor, the
//! command `hutch exec` joins, the `hutch check` probe and the user-namespace helper of image
//! import through the same [`run`]):
//!
//! - **Only a single-threaded process forks.** [`sys::fork`] and [`sys::clone_into_namespaces`]
//!   are `unsafe fn`s whose callers say in a `SAFETY:` note why theirs is: the `hutch` command
//!   starts no thread, and the supervisor is a fork of it. After a fork only the calling thread
//!   exists in the child; a lock another thread held (malloc's arenas, stdio, std's environment)
//!   would stay locked for good. Debug builds, which the test suite runs, check the thread count
//!   at every fork (`/proc/self/stat`). The test harness itself is multi-threaded, so unit
//!   tests never fork: what needs a process of its own runs in a thread (seccomp and Landlock
//!   hold per thread) or in the `hutch` binary.
//! - **So a child may allocate** and run ordinary Rust: nothing it inherited is locked. Where
//!   it runs two threads itself ([`build_root_beside_network`]), the second has ended before
//!   anything forks or execs; init starts the payload with posix_spawn, not fork.
//! - **A child ends with `_exit` or `execve`, never `std::process::exit`**, which would run the
//!   parent's atexit handlers and flush stdio buffers the parent filled (so their contents
//!   would appear twice). [`run`] ends with [`sys::exit_immediately`] when the body returns.
//! - **No panic unwinds into the parent's frames.** A child runs on a copy of the parent's
//!   stack: unwinding out of its body would run the parent's code (drops, error handling,
//!   output) in the child. [`run`] reports a panic on stderr and exits 125, in release builds
//!   (panic = "abort") as in debug ones.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};

use crate::caps::{self, CapsError};
use crate::channel::{self, GoSender, GoWaiter, LifelineWatch, ReportWriter};
use crate::error;
use crate::idmap::{self, IdMapError};
use crate::init;
use crate::landlock::{self, LandlockError, LandlockMode};
use crate::limits::{self, LimitError};
use crate::mounts::{self, MountError};
use crate::output::note;
use crate::sandbox::{network_in_parallel, Hardening, PROC_SYS};
use crate::seccomp::{self, SeccompError};
use crate::spec::SandboxSpec;
use crate::sys::{self, Errno, SysError};

/// The exit status of a child that panicked: hutch itself failed.
const PANICKED: i32 = 125;

/// The whole life of a child just forked or cloned (see the module's contract): `body` runs,
/// and the child ends with `_exit` and the status `body` returns, unless `body` execs or exits
/// itself. A panic in `body` is reported on stderr as hutch's own failure in `what` and ends
/// the child with status 125, without unwinding into the frames it shares with the parent.
pub(crate) fn run(what: &'static str, body: impl FnOnce() -> i32) -> ! {
    // With panic = "abort" (release builds) a panic never unwinds, and only the hook sees it;
    // the hook ends the child before the abort. This replaces the parent's hook in the child
    // alone.
    std::panic::set_hook(Box::new(move |panic| {
        note!("hutch: internal error in {what}: {panic}");
        sys::exit_immediately(PANICKED)
    }));
    debug_panic_on_request(what);
    match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(status) => sys::exit_immediately(status),
        // The hook has reported it; reached only if the hook was replaced.
        Err(_) => {
            note!("hutch: internal error in {what}");
            sys::exit_immediately(PANICKED)
        }
    }
}

/// A test-only way to make one kind of child panic: debug builds panic at the start of the
/// child named by `HUTCH_DEBUG_PANIC_IN_CHILD` (one of the `what`s given to [`run`]), so that
/// the test suite can see the panic end that child alone. Compiled out of release builds.
fn debug_panic_on_request(what: &str) {
    if cfg!(debug_assertions)
        && std::env::var_os("HUTCH_DEBUG_PANIC_IN_CHILD").is_some_and(|w| w == what)
    {
        panic!("HUTCH_DEBUG_PANIC_IN_CHILD={what}");
    }
}

#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("cannot ask for a parent-death signal")]
    ParentDeathSignal(#[source] SysError),
    #[error("hutch exited before the sandbox was set up")]
    LauncherGone,
    #[error("cannot enter the sandbox's cgroup")]
    Cgroup(#[source] SysError),
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

/// The child's side of starting pasta: it says when it has made the interface pasta attaches
/// to, and waits for the word that pasta has configured it.
pub(crate) struct NetworkHandshake {
    pub device_made: GoSender,
    pub configured: GoWaiter,
}

/// The child: set everything up, then become init. Never returns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn inside(
    spec: &SandboxSpec,
    hardening: &'static Hardening,
    report: ReportWriter,
    exit: channel::ExitWriter,
    watch: LifelineWatch,
    ids: Option<GoWaiter>,
    network: Option<NetworkHandshake>,
    signals: &SigSet,
) -> ! {
    match set_up(spec, hardening, &watch, ids, network) {
        Ok(()) => {
            drop(watch);
            init::run(spec, report, exit, signals)
        }
        Err(SetupError::LauncherGone) => sys::exit_immediately(125),
        Err(err) => {
            let hint = err.hint();
            report.failed(125, &error::render(&err, hint.as_deref()));
            sys::exit_immediately(125)
        }
    }
}

/// The set-up inside the new namespaces, in an order that matters.
fn set_up(
    spec: &SandboxSpec,
    hardening: &'static Hardening,
    watch: &LifelineWatch,
    ids: Option<GoWaiter>,
    network: Option<NetworkHandshake>,
) -> Result<(), SetupError> {
    // 1. Die with the launcher. The launcher may already have died between clone and prctl, so
    //    check its lifeline pipe once the signal is armed (prctl(2), PR_SET_PDEATHSIG).
    sys::set_parent_death_signal(Signal::SIGKILL).map_err(SetupError::ParentDeathSignal)?;
    if watch.launcher_gone().unwrap_or(true) {
        return Err(SetupError::LauncherGone);
    }
    // 1b. With limits: the payload's cgroup. clone3 started us in the leaf (else we move
    //     ourselves, before anything else runs); a cgroup namespace rooted there makes
    //     /proc/self/cgroup read `0::/` and lets a cgroup2 mount show the leaf alone
    //     (cgroup_namespaces(7)). Ours to make: we hold CAP_SYS_ADMIN in our user namespace.
    if let Some(entry) = &hardening.cgroup {
        if let Some(procs) = &entry.procs {
            use std::io::Write;
            (&*procs)
                .write_all(b"0")
                .map_err(|e| SetupError::Cgroup(SysError::io("write(cgroup.procs, 0)", &e)))?;
        }
        sys::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(SetupError::Cgroup)?;
    }
    // 1c. With pasta: its interface, made here and persistent (see
    //     `sys::create_persistent_tap`), before the launcher starts pasta. It needs only the
    //     capabilities a new user namespace starts with. Should it fail (or not be made, see
    //     `UserNet::pasta_device`), pasta makes the interface itself as it otherwise would, and
    //     says what is wrong if it cannot either.
    let network = network.map(|handshake| {
        let device = hardening
            .network
            .as_ref()
            .and_then(crate::net::UserNet::pasta_device);
        if let Some(name) = device {
            if let Err(e) = sys::create_persistent_tap(name) {
                tracing::debug!(error = %e, "pasta makes the interface itself");
            }
        }
        let _ = handshake.device_made.go();
        handshake.configured
    });
    // 2. Id maps before anything that creates files, so that files the sandbox makes are owned
    //    by the user. We hold every capability in the new user namespace until the payload's
    //    execve, and the kernel lets us map our own id without a helper (user_namespaces(7)).
    //    With subordinate ranges only the setuid helpers may write the maps: the launcher runs
    //    them on us and says when they are done.
    let map_ids = || match ids {
        Some(mapped) => match mapped.wait_for_go() {
            true => Ok(()),
            false => Err(SetupError::LauncherGone),
        },
        None => {
            idmap::write_own_maps(&spec.ids, Path::new("/proc/self")).map_err(SetupError::IdMap)
        }
    };
    // 3. The file system: everything is built under a scratch root, then pivot_root.
    // 4. The uts and net namespaces are ours: name the host, bring up loopback.
    // (With the network made beside the mounts, the bounding set (step 6) and the Landlock
    // ruleset (step 8) are made beside them too; they are enforced in their places. The
    // mounting thread is started before the id maps are written, and waits for them.)
    let (landlock, bounding_limited, seccomp_installed) = if network_in_parallel(spec) {
        let (landlock, seccomp_installed) = build_root_beside_network(spec, hardening, map_ids)?;
        (landlock, true, seccomp_installed)
    } else {
        map_ids()?;
        mounts::build_root(&hardening.mount_ops).map_err(SetupError::Mount)?;
        sys::sethostname(&spec.hostname).map_err(SetupError::Hostname)?;
        if spec.net.own_namespace() {
            sys::loopback_up().map_err(SetupError::Loopback)?;
        }
        (LandlockInputs::of(spec, hardening).prepare()?, false, false)
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
    //    (Or earlier, beside the mounts; see `build_root_beside_network`.)
    if !seccomp_installed {
        seccomp::apply(&hardening.seccomp).map_err(SetupError::Seccomp)?;
    }
    Ok(())
}

/// What the Landlock ruleset of step 8 is made from, owned, for either of the set-up's threads;
/// it is made once the mounts it describes exist (rules hold open file descriptors of them).
struct LandlockInputs {
    rules: &'static [landlock::PathRule],
    tcp_ports: landlock::TcpPorts,
    scopes: landlock::Scopes,
    mode: LandlockMode,
    /// Whether a thread has taken the making of it (see `build_root_beside_network`).
    taken: AtomicBool,
}

impl LandlockInputs {
    fn of(spec: &SandboxSpec, hardening: &'static Hardening) -> LandlockInputs {
        LandlockInputs {
            rules: &hardening.landlock_rules,
            tcp_ports: spec.tcp_ports.clone(),
            scopes: spec.landlock_scopes,
            mode: spec.landlock,
            taken: AtomicBool::new(false),
        }
    }

    /// Whether the caller is the first to ask, and so makes the ruleset.
    fn take(&self) -> bool {
        !self.taken.swap(true, Ordering::AcqRel)
    }

    fn prepare(&self) -> Result<Option<landlock::Prepared>, SetupError> {
        landlock::prepare(self.rules, &self.tcp_ports, self.scopes, self.mode)
            .map_err(SetupError::Landlock)
    }
}

/// Steps 3 and 4 at once: a second thread builds the root, while this one makes the network
/// namespace and limits its bounding set (see [`network_in_parallel`]); the Landlock ruleset
/// comes from the first of the two to be free once the root is pivoted. Threads share the mount
/// namespace, the root and the descriptors; credentials and namespaces are each thread's own,
/// and only this thread changes its own.
/// What holds for the calling thread alone (capabilities, no_new_privs, Landlock, seccomp) is
/// enforced on this thread, which becomes init; the mounting thread has ended before anything of
/// the user's runs.
///
/// This thread is usually done first, so it also installs the seccomp filter (step 9) while it
/// waits, when the filter denies only what hutch denies by default: none of the calls that the
/// rest of the set-up makes on this thread. The filter holds for this thread alone (no TSYNC),
/// so the mounting thread, which needs mount_setattr, is not under it. Returns whether it did.
fn build_root_beside_network(
    spec: &SandboxSpec,
    hardening: &'static Hardening,
    map_ids: impl FnOnce() -> Result<(), SetupError>,
) -> Result<(Option<landlock::Prepared>, bool), SetupError> {
    // Mounting needs little stack; a small one is mapped and torn down faster.
    const STACK: usize = 256 * 1024;
    // The Landlock ruleset is made by whichever thread is free first: this one, once its part
    // is done, while the other detaches the old root (whose umount2 waits out an RCU grace
    // period), or else the mounting thread, after that.
    let (pivoted, wait_for_pivot) = std::sync::mpsc::sync_channel::<()>(1);
    let (mapped, wait_for_maps) = std::sync::mpsc::sync_channel::<()>(1);
    let landlock_inputs = Arc::new(LandlockInputs::of(spec, hardening));
    let landlock_there = Arc::clone(&landlock_inputs);
    let cpus = sys::allowed_cpus();
    // Not a scoped thread: what it uses is owned or lives as long as this process (see
    // `sandbox::start`), and its handle gives the pthread_t that `sys::start_elsewhere` needs.
    // It is joined below on every path.
    let mounting = std::thread::Builder::new()
        .name("hutch-mounts".into())
        .stack_size(STACK)
        .spawn(move || {
            if let Some(cpus) = &cpus {
                sys::run_on(cpus);
            }
            // Nothing is made before the id maps (step 2). Without them this thread's answer
            // is not read: the maps' failure is the error.
            if wait_for_maps.recv().is_err() {
                return Ok(None);
            }
            let root = mounts::pivot_into_root(&hardening.mount_ops);
            let root = root.map_err(SetupError::Mount)?;
            let _ = pivoted.send(());
            root.detach_old_root().map_err(SetupError::Mount)?;
            if landlock_there.take() {
                landlock_there.prepare().map(Some)
            } else {
                Ok(None)
            }
        })
        .map_err(|e| SetupError::Thread(e.to_string()))?;
    // Not behind this thread, which is about to spend 0.3 ms in the kernel making the network
    // namespace.
    if let Some(cpus) = &cpus {
        let thread = std::os::unix::thread::JoinHandleExt::as_pthread_t(&mounting);
        sys::start_elsewhere(thread, cpus);
    }
    // The thread gets going on the other CPU (about 0.12 ms) while the id maps are written.
    if let Err(e) = map_ids() {
        drop(mapped);
        let _ = mounting.join();
        return Err(e);
    }
    // The thread takes PID 2 of the new pid namespace; the payload should have it, as it does
    // without the thread. The kernel gives out the number after ns_last_pid next, and lets the
    // namespace's own admin (us, once mapped) set it; the file is opened before the mounting
    // thread may hide the host's /proc. Best effort: where it cannot be written, the payload is
    // PID 3.
    let last_pid = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/kernel/ns_last_pid")
        .ok();
    let _ = mapped.send(());
    let network = sys::unshare(CloneFlags::CLONE_NEWNET)
        .map_err(SetupError::Network)
        .and_then(|()| sys::loopback_up().map_err(SetupError::Loopback))
        .and_then(|()| sys::sethostname(&spec.hostname).map_err(SetupError::Hostname))
        .and_then(|()| {
            caps::limit_bounding(spec.capabilities, hardening.last_capability)
                .map_err(SetupError::Capabilities)
        })
        .and_then(|()| {
            if !hardening.seccomp_early {
                return Ok(false);
            }
            seccomp::apply(&hardening.seccomp)
                .map(|()| true)
                .map_err(SetupError::Seccomp)
        });
    // Paths looked up from `/` resolve in the new root as soon as it is pivoted (see
    // `mounts::Pivoted`). Without the pivot, the mounting thread failed: the join says why.
    let made_here = if landlock_inputs.take() {
        wait_for_pivot
            .recv()
            .ok()
            .map(|()| landlock_inputs.prepare())
    } else {
        None
    };
    // Wait for the mounts even when the network failed: no thread may outlive this, and
    // nothing runs before the old root is detached.
    let root = match mounting.join() {
        Ok(built) => built,
        Err(_) => Err(SetupError::Thread("the mounting thread panicked".into())),
    };
    let landlock = match (root, made_here) {
        (Err(e), _) => Err(e),
        (Ok(Some(made_there)), _) => Ok(made_there),
        (Ok(None), Some(made_here)) => made_here,
        (Ok(None), None) => Err(SetupError::Thread(
            "no thread made the Landlock rules".into(),
        )),
    };
    let built = landlock
        .and_then(|landlock| network.map(|seccomp_installed| (landlock, seccomp_installed)));
    if let Some(mut last_pid) = last_pid {
        use std::io::Write;
        let _ = last_pid.write_all(b"1");
    }
    built
}
