//! Launching one sandbox: the launcher's side. The ordered set-up inside is in `child`.
//!
//! The launcher clones one child into new user, mount, pid, ipc, uts, net and cgroup namespaces.
//! That child maps its own ids, builds its root (while it makes its network namespace, unless
//! pasta needs that at once), and becomes PID 1 (see `init`). The launcher
//! forwards signals to it and exits with the payload's status. If the launcher dies, even by
//! SIGKILL, the kernel kills PID 1 (parent-death signal) and with it the whole pid namespace.
//! With `--net pasta` the launcher also starts pasta on the new network namespace and lets the
//! sandbox go on once pasta has configured it (see `net::pasta`). With cgroup limits the child
//! is born in a leaf cgroup of its own (clone3 `CLONE_INTO_CGROUP`, see `cgroup`) and makes its
//! cgroup namespace there; the leaf is killed and removed when the sandbox ends.

use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::cgroup::{self, CgroupError, CgroupHost, Leaf};
use crate::channel::{self, Report};
use crate::child;
use crate::idmap;
use crate::init;
use crate::landlock;
use crate::mounts::{self, MountOp};
use crate::net::{self, HostNet, NetError, UserNet};
use crate::profile::NetMode;
use crate::seccomp::{self, SeccompError};
use crate::spec::SandboxSpec;
use crate::subid::IdPlan;
use crate::sys::{self, Errno, SysError};

pub(crate) const PROC_SYS: &str = "/proc/sys";
/// Where cgroup2 is mounted, on the host and in a sandbox with limits.
const CGROUPFS: &str = "/sys/fs/cgroup";

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
    #[error("cannot give the sandbox its cgroup")]
    Cgroup(#[from] CgroupError),
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
            LaunchError::Cgroup(e) => e.hint(),
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
    /// The sandbox's pasta or egress forwarder (`--net pasta`); ends when this is dropped.
    pub network: Option<net::Link>,
    /// Where PID 1 reports the payload's exit status.
    pub exit: channel::ExitReader,
    /// The sandbox's cgroup (with limits); everything in it is killed and it is removed when
    /// this is dropped.
    pub cgroup: Option<Leaf>,
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
    let mut hardening = Hardening::prepare(spec)?;
    let leaf = cgroup_leaf(spec)?;
    // A missing pasta or a taken port is found before anything exists that must be undone.
    let pasta = match &hardening.network {
        Some(network) => {
            let program = net::Connector::for_network(network)?;
            net::probe_host_ports(&network.publish)?;
            let (sender, waiter) = channel::go_pipe("network").map_err(LaunchError::Prepare)?;
            let (made, made_waiter) =
                channel::go_pipe("network device").map_err(LaunchError::Prepare)?;
            let handshake = child::NetworkHandshake {
                device_made: made,
                configured: waiter,
            };
            // The launcher's own copy: the child takes the plan itself (below).
            Some((program, network.clone(), sender, made_waiter, handshake))
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

    let mut flags = clone_namespaces(spec);
    let (pasta, handshake) = match pasta {
        Some((program, network, sender, made_waiter, handshake)) => (
            Some((program, network, sender, made_waiter)),
            Some(handshake),
        ),
        None => (None, None),
    };
    let clone = match &leaf {
        Some(leaf) => {
            // The child makes its cgroup namespace itself, once it is in the leaf: one made by
            // the clone would be rooted at the launcher's cgroup instead (copy_namespaces runs
            // before the move into CLONE_INTO_CGROUP's target).
            flags.remove(CloneFlags::CLONE_NEWCGROUP);
            hardening.cgroup = Some(CgroupEntry { procs: None });
            // SAFETY: single-threaded, as below.
            match unsafe { sys::clone_into_cgroup(flags, leaf.fd()) } {
                Err(e) if matches!(e.errno, Errno::ENOSYS | Errno::E2BIG) => {
                    // Before Linux 5.7 the child moves itself in, before anything else.
                    let procs = leaf.path.join("cgroup.procs");
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&procs)
                        .map_err(|e| {
                            LaunchError::Prepare(SysError::io(
                                format!("open({})", procs.display()),
                                &e,
                            ))
                        })?;
                    hardening.cgroup = Some(CgroupEntry { procs: Some(file) });
                    // SAFETY: single-threaded, as below.
                    unsafe { sys::clone_into_namespaces(flags) }
                }
                other => other,
            }
        }
        // SAFETY: the process is single-threaded: `start` runs in the `hutch` command (`run`)
        // or in an environment's supervisor, a fork of it; neither starts a thread (see
        // `crate::child`).
        None => unsafe { sys::clone_into_namespaces(flags) },
    };
    let child = match clone.map_err(LaunchError::Clone)? {
        None => child::run("the sandbox's set-up", || {
            drop(reader);
            drop(holder);
            drop(pasta);
            drop(exit_reader);
            let ids_waiter = ids_go.map(|(_, waiter)| waiter);
            // The child never returns (`inside` ends it): what it applies lives as long as it
            // does, and its threads may hold it.
            let hardening: &'static Hardening = Box::leak(Box::new(hardening));
            child::inside(
                spec,
                hardening,
                writer,
                exit_writer,
                watch,
                ids_waiter,
                handshake,
                signals,
            )
        }),
        Some(child) => child,
    };
    drop(writer);
    drop(exit_writer);
    drop(watch);
    drop(handshake);
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
    // the word before it runs anything of the user's. pasta runs once the child has made its
    // interface (the child's first step; were the child gone, pasta's start says so).
    let network = match pasta {
        Some((program, network, sender, device_made)) => {
            match program.start(&network, child.as_raw(), device_made) {
                Ok(pasta) => {
                    // Should the child be gone already, its own report says why.
                    let _ = sender.go();
                    Some(pasta)
                }
                Err(e) => {
                    let _ = sys::kill(child, libc::SIGKILL);
                    let _ = waitpid(child, None);
                    // A sandbox that failed on its own says why; pasta then only lost its
                    // target.
                    if let Some(report) = reader.wait_until_running() {
                        return Err(LaunchError::Inside(report));
                    }
                    return Err(e.into());
                }
            }
        }
        None => None,
    };
    Ok(Started {
        init: child,
        report: Some(reader),
        lifeline: Some(holder),
        network,
        exit: exit_reader,
        cgroup: leaf,
    })
}

/// With limits: the sandbox's leaf in the delegated cgroup, this process moved out of the way
/// into a leaf of its own first (see `crate::cgroup`).
fn cgroup_leaf(spec: &SandboxSpec) -> Result<Option<Leaf>, LaunchError> {
    if spec.resources.is_empty() && !spec.own_cgroup {
        return Ok(None);
    }
    let host = CgroupHost::current();
    let needed = spec.resources.controllers();
    let mut delegated = cgroup::find(&host, &needed)?;
    delegated.enter(host.pid, &needed)?;
    let leaf = delegated.create_leaf(host.pid, &spec.resources)?;
    tracing::debug!(cgroup = %leaf.path.display(), limits = %spec.resources, "sandbox cgroup");
    Ok(Some(leaf))
}

/// Say that the memory limit ended the sandbox, when it did: the OOM killer's SIGKILL alone
/// (status 137) looks like any other kill.
pub(crate) fn report_oom(spec: &SandboxSpec, leaf: &Leaf) {
    let kills = leaf.oom_kills();
    if kills > 0 {
        let limit = match spec.resources.memory {
            Some(cgroup::Amount::Limited(bytes)) => format!(" ({})", cgroup::human_size(bytes)),
            _ => String::new(),
        };
        crate::output::note!(
            "hutch: the sandbox reached its memory limit{limit}: the kernel's OOM killer ended \
             it ({kills} process{} killed); raise --memory",
            if kills == 1 { "" } else { "es" }
        );
    }
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
/// the clone; so must it for a sysfs, which the kernel grants only to a mounter whose network
/// namespace its user namespace owns.
pub(crate) fn network_in_parallel(spec: &SandboxSpec) -> bool {
    spec.net.own_namespace()
        && spec.net != NetMode::Pasta
        && !spec
            .mounts
            .iter()
            .any(|m| matches!(m, mounts::Mount::Sysfs { .. }))
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
    // hutch exits right after this. pasta, killed, takes milliseconds to be gone (it closes
    // some 130 sockets), and whoever inherits it reaps it; waiting for that would only hold back
    // the exit status. A published port is the exception: it must be free again once hutch has
    // returned, so that pasta is waited for when it is dropped.
    if spec.publish.is_empty() {
        if let Some(net::Link::Pasta(pasta)) = started.network.take() {
            pasta.kill_and_leave();
        }
    }
    if let Some(leaf) = started.cgroup.take() {
        report_oom(spec, &leaf);
        // Nothing the payload left behind outlives hutch: cgroup.kill, then the leaf goes.
        drop(leaf);
    }
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

/// How long a payload runs before the process waiting for it gives back the memory of its
/// start-up (see [`crate::env::supervisor::shed_start_up_memory`]): long enough that a short
/// command (`hutch run -- true`) ends without paying for it, short enough that any payload
/// worth counting memory for runs beside a lean hutch.
pub(crate) const SHED_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Forward signals to `child` until it ends, or until PID 1 reports the status on `exit`.
/// Once it has run for [`SHED_AFTER`], the start-up's memory is given back.
pub(crate) fn wait_forwarding(
    child: Pid,
    signals: &SigSet,
    exit: Option<&channel::ExitReader>,
) -> Result<u8, LaunchError> {
    let mut shed = false;
    loop {
        let received = if shed {
            sys::wait_for_signal(signals).map(Some)
        } else {
            sys::wait_for_signal_until(signals, SHED_AFTER)
        };
        let Some(received) = received.map_err(LaunchError::Wait)? else {
            crate::env::supervisor::shed_start_up_memory();
            shed = true;
            continue;
        };
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

/// What the child applies, built by the launcher: the mount plan, the Landlock rules derived
/// from it, and the compiled seccomp program.
pub struct Hardening {
    pub mount_ops: Vec<MountOp>,
    pub landlock_rules: Vec<landlock::PathRule>,
    pub seccomp: seccompiler::BpfProgram,
    /// Whether the child may install `seccomp` while its mounts are still being built (only
    /// hutch's own denials: see [`crate::seccomp::SeccompPolicy::denies_only_builtin`]).
    pub seccomp_early: bool,
    /// The highest capability this kernel knows: read here, not on the child's critical path.
    pub last_capability: u32,
    /// The user-mode network (`--net pasta`), resolved against the host's network as it is now:
    /// an environment's supervisor prepares it again at every restart.
    pub network: Option<UserNet>,
    /// With limits: how the child enters its cgroup (set by [`start`] once the leaf exists).
    pub cgroup: Option<CgroupEntry>,
}

/// What the child does about its cgroup: a cgroup namespace rooted at the leaf it was born in,
/// after moving itself there where clone3 could not start it there (`procs`: the leaf's
/// cgroup.procs).
pub struct CgroupEntry {
    pub procs: Option<std::fs::File>,
}

impl Hardening {
    pub fn prepare(spec: &SandboxSpec) -> Result<Hardening, LaunchError> {
        let mut mount_ops = mounts::plan(&spec.mounts);
        // With limits, /sys/fs/cgroup shows the sandbox's own cgroup where the host's would show
        // (a bind of / or /sys): read-only, but for an image's own init, which manages it.
        let cgroupfs = Path::new(CGROUPFS);
        let shows_host_cgroups = mount_ops
            .iter()
            .any(|op| matches!(op, MountOp::Bind { dst, .. } if cgroupfs.starts_with(dst)));
        if spec.own_cgroup {
            // The sandbox's init manages its own subtree (its systemd makes init.scope and
            // slices there); /sys is its own read-only sysfs, mounted before.
            mount_ops.push(MountOp::Cgroup2 {
                dst: cgroupfs.to_owned(),
                read_only: false,
            });
        } else if !spec.resources.is_empty() && shows_host_cgroups && cgroupfs.is_dir() {
            mount_ops.push(MountOp::Cgroup2 {
                dst: cgroupfs.to_owned(),
                read_only: spec.init_program.is_none(),
            });
        }
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
        let network = (spec.net == NetMode::Pasta).then(|| {
            let network = UserNet::new(&spec.publish, spec.host_loopback, &HostNet::current());
            match &spec.egress {
                Some(plan) => network.with_egress(plan.clone()),
                None => network,
            }
        });
        if let Some(network) = &network {
            // Last, so they cover whatever the profile put at /etc/resolv.conf and /etc/hosts.
            mount_ops.extend(network.files(&spec.hostname));
        }
        // An interactive sandbox gets its terminal as /dev/console: the host's pty is not in the
        // sandbox's own devpts, and ttyname(3) (so `tty`, ssh, gpg's pinentry) finds it there.
        // An environment's init gets the supervisor's console pty instead.
        let dev = spec.mounts.iter().find_map(|m| match m {
            mounts::Mount::Dev { dst } => Some(dst),
            _ => None,
        });
        let terminal = spec.console.clone().or_else(sys::stdin_terminal);
        if let (Some(dev), Some(terminal)) = (dev, terminal) {
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
            seccomp_early: spec.seccomp.denies_only_builtin(),
            last_capability: sys::last_capability(),
            network,
            cgroup: None,
        })
    }
}
