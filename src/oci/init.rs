//! The container's first process, between clone(2) and the execve(2) of the user's program
//! (see `crate::child` for the contract every such child lives by).
//!
//! It is hutch's sandbox set-up in OCI's terms, in the same order (`crate::child::set_up`):
//! id maps, the root from the plan's mounts (`mounts::build_root`), hostname and loopback,
//! limits, then the terminal, the capability bounding set, no_new_privs, Landlock (rules from
//! the same mount plan) and seccomp. Unlike a `hutch run` sandbox, the user's program becomes
//! PID 1 itself, as with every OCI runtime, and it runs only once `start` says so: the process
//! reports "ready" to `create` and then waits on `exec.fifo` (runc's protocol).

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;

use super::config::{ContainerPlan, ProcessPlan};
use crate::caps;
use crate::channel::{GoWaiter, LifelineWatch, ReportWriter};
use crate::landlock::{self, PathRule, Scopes, TcpPorts};
use crate::sys::{self, SysError};

/// What `create` hands the container's init besides the plan.
pub struct InitChannels {
    pub report: ReportWriter,
    pub lifeline: LifelineWatch,
    /// The id maps are written (only with a new user namespace).
    pub ids_mapped: Option<GoWaiter>,
    /// The read end of exec.fifo, opened non-blocking by `create`.
    pub fifo: OwnedFd,
    /// The engine's console socket (`process.terminal`).
    pub console: Option<UnixStream>,
    /// Make the cgroup namespace here: the clone put us into the container's cgroup
    /// (CLONE_INTO_CGROUP), and a namespace made by the clone would be rooted above it.
    pub unshare_cgroup: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot ask for a parent-death signal")]
    ParentDeathSignal(#[source] SysError),
    #[error("hutch-oci create exited before the container was set up")]
    CreateGone,
    #[error("cannot make the container's cgroup namespace")]
    CgroupNamespace(#[source] SysError),
    #[error("cannot become root of the container's user namespace")]
    Root(#[source] SysError),
    #[error("cannot build the container's root file system")]
    Mount(#[source] crate::mounts::MountError),
    #[error("cannot set the hostname")]
    Hostname(#[source] SysError),
    #[error("cannot bring up the loopback interface")]
    Loopback(#[source] SysError),
    #[error("cannot set sysctl {key}")]
    Sysctl {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set oom_score_adj to {value}")]
    OomScore {
        value: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot apply process.rlimits")]
    Limits(#[source] crate::limits::LimitError),
    #[error("cannot set up the terminal")]
    Terminal(#[source] SysError),
    #[error("cannot mark inherited descriptors close-on-exec")]
    Descriptors(#[source] SysError),
    #[error("cannot limit the capability bounding set")]
    Bounding(#[source] caps::CapsError),
    #[error("cannot set no_new_privs")]
    NoNewPrivs(#[source] SysError),
    #[error("cannot restrict file access (Landlock)")]
    Landlock(#[source] landlock::LandlockError),
    #[error("cannot install the seccomp filter")]
    Seccomp(#[source] crate::seccomp::SeccompError),
    #[error("cannot install the seccomp filter")]
    SeccompKeepingPrivileges(#[source] SysError),
    #[error("cannot become uid {uid}, gid {gid} (additional gids {groups:?})")]
    User {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
        #[source]
        source: SysError,
    },
    #[error("cannot set the process's capabilities")]
    Capabilities(#[source] SysError),
    #[error("cannot enter the working directory {}", dir.display())]
    Cwd {
        dir: std::path::PathBuf,
        #[source]
        source: SysError,
    },
    /// runc's wording, which engines (podman) read to answer 127.
    #[error("exec: {program:?}: executable file not found in $PATH")]
    NotFound { program: String },
    #[error("exec: {program:?}: permission denied")]
    NotExecutable { program: String },
}

impl InitError {
    fn hint(&self) -> Option<String> {
        match self {
            InitError::Mount(e) => e.hint(Path::new("/proc/sys")),
            InitError::Landlock(e) => e.hint(),
            InitError::Seccomp(e) => e.hint(),
            InitError::Limits(e) => e.hint(),
            InitError::User { .. } => Some(
                "the container's user namespace must map these ids (linux.uidMappings, \
                 linux.gidMappings)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The container's init: set up, report, wait for `start`, exec. Returns only a status to
/// `_exit` with when something failed.
pub fn run(plan: &ContainerPlan, rules: &[PathRule], last_cap: u32, io: InitChannels) -> i32 {
    let InitChannels {
        report,
        lifeline,
        ids_mapped,
        fifo,
        console,
        unshare_cgroup,
    } = io;
    if let Err(e) = set_up(
        plan,
        rules,
        last_cap,
        &lifeline,
        ids_mapped,
        console,
        unshare_cgroup,
    ) {
        if !matches!(e, InitError::CreateGone) {
            report.failed(1, &crate::error::render(&e, e.hint().as_deref()));
        }
        return 1;
    }
    // Tied to `create` no longer: it exits once it has heard from us. Cleared before the
    // report, or `create` could exit (and kill us) in between.
    if let Err(e) = sys::clear_parent_death_signal() {
        report.failed(1, &e.to_string());
        return 1;
    }
    drop(lifeline);
    // End of file on the report pipe: "ready".
    drop(report);
    if !wait_for_start(&fifo) {
        return 1;
    }
    drop(fifo);
    exec(&plan.process, plan)
}

fn set_up(
    plan: &ContainerPlan,
    rules: &[PathRule],
    last_cap: u32,
    lifeline: &LifelineWatch,
    ids_mapped: Option<GoWaiter>,
    console: Option<UnixStream>,
    unshare_cgroup: bool,
) -> Result<(), InitError> {
    // 1. Die with `create` while it waits for us (prctl(2), PR_SET_PDEATHSIG); it may have
    //    died before the request, which its lifeline pipe tells.
    sys::set_parent_death_signal(Signal::SIGKILL).map_err(InitError::ParentDeathSignal)?;
    if lifeline.launcher_gone().unwrap_or(true) {
        return Err(InitError::CreateGone);
    }
    // 1b. The cgroup namespace, rooted at the container's cgroup we were born in: the
    //     container's /proc/self/cgroup reads `0::/` and a cgroup2 mount shows its cgroup alone
    //     (cgroup_namespaces(7)). Ours to make: we hold CAP_SYS_ADMIN in our user namespace.
    if unshare_cgroup {
        sys::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(InitError::CgroupNamespace)?;
    }
    // 2. Id maps before anything creates files: `create` writes them (newuidmap for ranges).
    if let Some(mapped) = ids_mapped {
        if !mapped.wait_for_go() {
            return Err(InitError::CreateGone);
        }
        // `create`'s ids may not be mapped in the new namespace (root of the namespace it runs
        // in, mapping other ids): become the container's root, as runc does, or every file
        // made from here on fails with EOVERFLOW.
        if let Some(maps) = &plan.id_maps {
            become_root_of(maps)?;
        }
    }
    // 3. Namespaced sysctls, through the host's /proc while it is still ours: /proc/sys/net and
    //    /proc/sys/kernel's ipc and uts entries are those of the writer's own namespaces, and
    //    the container's /proc/sys is read-only once the root is built (readonlyPaths).
    for (key, value) in &plan.sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|source| InitError::Sysctl {
            key: key.clone(),
            source,
        })?;
    }
    // 3b. The root: bundle rootfs, the spec's mounts, devices, masked and read-only paths.
    crate::mounts::build_root(&plan.mount_ops).map_err(InitError::Mount)?;
    // 4. Name the host, bring up loopback.
    if let Some(name) = &plan.hostname {
        sys::sethostname(name).map_err(InitError::Hostname)?;
    }
    if plan.new_namespaces.contains(CloneFlags::CLONE_NEWNET) {
        sys::loopback_up().map_err(InitError::Loopback)?;
    }
    if let Some(value) = plan.process.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", value.to_string())
            .map_err(|source| InitError::OomScore { value, source })?;
    }
    crate::limits::apply(&plan.process.rlimits).map_err(InitError::Limits)?;
    // 5. The terminal: a pty of the container's own devpts; its master goes to the engine.
    if let Some(socket) = console {
        super::console::attach(&socket, plan.process.console_size).map_err(InitError::Terminal)?;
    }
    restrict(plan, &plan.process, rules, last_cap)
}

/// Steps 6 to 10, shared with `exec`: bounding set, no_new_privs, Landlock, seccomp (early
/// without no_new_privs, while CAP_SYS_ADMIN is still held, as runc does), then the user,
/// capabilities and working directory; the program is checked to exist.
pub fn restrict(
    plan: &ContainerPlan,
    process: &ProcessPlan,
    rules: &[PathRule],
    last_cap: u32,
) -> Result<(), InitError> {
    // 6. Descriptors the engine did not ask to pass (--preserve-fds) stay out of the container:
    //    marked close-on-exec now, before a seccomp profile may deny close_range(2).
    sys::cloexec_from(3 + process.preserve_fds).map_err(InitError::Descriptors)?;
    // 6b. The bounding set first: dropping needs CAP_SETPCAP, which step 9 may remove.
    caps::limit_bounding(process.capabilities.bounding, last_cap).map_err(InitError::Bounding)?;
    // 7. no_new_privs when the spec asks (podman: --security-opt no-new-privileges): from here
    //    on execve grants nothing (setuid binaries, file capabilities). The engine decides, as
    //    with every runtime: images rely on setuid programs (su, ping).
    if process.no_new_privileges {
        sys::set_no_new_privs().map_err(InitError::NoNewPrivs)?;
    }
    // 8. Landlock, rules from the mount plan. Signals are not scoped: `exec` makes a domain of
    //    its own, and its processes must signal the container's (`podman exec C kill 1`).
    let scopes = Scopes {
        abstract_sockets: true,
        signals: false,
    };
    //    Without no_new_privs it is enforced on the strength of CAP_SYS_ADMIN, still held.
    if let Some(prepared) = landlock::prepare(rules, &TcpPorts::default(), scopes, plan.landlock)
        .map_err(InitError::Landlock)?
    {
        let prepared = if process.no_new_privileges {
            prepared
        } else {
            prepared.without_no_new_privs()
        };
        landlock::enforce(prepared).map_err(InitError::Landlock)?;
    }
    // 9. Without no_new_privs, seccomp needs CAP_SYS_ADMIN, which the user may lose in step 10.
    if !process.no_new_privileges {
        install_seccomp(plan, false)?;
    }
    // 10. The user; the permitted set survives the change of uid (PR_SET_KEEPCAPS), and the
    //     sets are then cut to the spec's.
    become_user(process)?;
    let c = &process.capabilities;
    sys::set_capability_sets(c.effective.0, c.permitted.0, c.inheritable.0)
        .map_err(InitError::Capabilities)?;
    sys::clear_ambient_capabilities().map_err(InitError::Capabilities)?;
    for cap in 0..64u32 {
        if c.ambient.0 & (1 << cap) != 0 {
            sys::raise_ambient_capability(cap).map_err(InitError::Capabilities)?;
        }
    }
    if let Some(mask) = process.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    sys::chdir(&process.cwd).map_err(|source| InitError::Cwd {
        dir: process.cwd.clone(),
        source,
    })?;
    find_program(process)
}

/// setresuid/setresgid to 0 of the new user namespace, where its maps hold 0.
fn become_root_of(maps: &super::config::IdMaps) -> Result<(), InitError> {
    use nix::unistd::{setresgid, setresuid, Gid, Uid};
    let holds_root = |map: &crate::idmap::IdMap| map.entries.iter().any(|e| e.inside == 0);
    if !holds_root(&maps.uid) || !holds_root(&maps.gid) {
        return Ok(());
    }
    let failed = |call: &str| {
        let call = call.to_owned();
        move |errno| InitError::Root(SysError { call, errno })
    };
    let root = Gid::from_raw(0);
    setresgid(root, root, root).map_err(failed("setresgid(0, 0, 0)"))?;
    let root = Uid::from_raw(0);
    setresuid(root, root, root).map_err(failed("setresuid(0, 0, 0)"))
}

fn become_user(process: &ProcessPlan) -> Result<(), InitError> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let failed = |source: SysError| InitError::User {
        uid: process.uid,
        gid: process.gid,
        groups: process.additional_gids.clone(),
        source,
    };
    let sys_err = |call: &str| {
        let call = call.to_owned();
        move |errno| SysError { call, errno }
    };
    sys::set_keep_capabilities(true).map_err(failed)?;
    let denied = std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !denied {
        let groups: Vec<Gid> = process
            .additional_gids
            .iter()
            .map(|&g| Gid::from_raw(g))
            .collect();
        setgroups(&groups)
            .map_err(sys_err("setgroups"))
            .map_err(failed)?;
    } else if !process.additional_gids.is_empty() {
        return Err(failed(SysError {
            call: "setgroups (denied in this user namespace: it maps a single id)".into(),
            errno: nix::errno::Errno::EPERM,
        }));
    }
    let gid = Gid::from_raw(process.gid);
    setresgid(gid, gid, gid)
        .map_err(sys_err("setresgid"))
        .map_err(failed)?;
    let uid = Uid::from_raw(process.uid);
    setresuid(uid, uid, uid)
        .map_err(sys_err("setresuid"))
        .map_err(failed)?;
    sys::set_keep_capabilities(false).map_err(failed)
}

fn install_seccomp(plan: &ContainerPlan, no_new_privileges: bool) -> Result<(), InitError> {
    // hutch's deny-list first when stacked: the kernel runs every filter and the strictest
    // answer wins, whatever the order.
    for program in [&plan.seccomp.hutch, &plan.seccomp.engine]
        .into_iter()
        .flatten()
    {
        if no_new_privileges {
            crate::seccomp::apply(program).map_err(InitError::Seccomp)?;
        } else {
            // seccompiler would set no_new_privs; CAP_SYS_ADMIN (still held) stands in for it.
            sys::install_seccomp_keeping_privileges(program)
                .map_err(InitError::SeccompKeepingPrivileges)?;
        }
    }
    Ok(())
}

/// Is there a program to run? Checked before `create` reports success, as runc does, so that a
/// missing command fails `create` (and the engine answers 127).
fn find_program(process: &ProcessPlan) -> Result<(), InitError> {
    let program = &process.argv[0];
    let shown = program.to_string_lossy().into_owned();
    let mut denied = false;
    for candidate in crate::init::candidates(program, &process.env) {
        match sys::executable(&candidate) {
            Ok(()) => {
                // access(2) says yes to a directory with x bits.
                let path = std::ffi::OsStr::from_bytes(candidate.as_bytes());
                if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                    return Ok(());
                }
                denied = true;
            }
            Err(nix::errno::Errno::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        Err(InitError::NotExecutable { program: shown })
    } else {
        Err(InitError::NotFound { program: shown })
    }
}

/// Block until `start` writes to exec.fifo. The fifo was opened for reading without blocking
/// (no writer yet); poll(2) says when a writer has written (POLLIN) or come and gone (POLLHUP).
fn wait_for_start(fifo: &OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
    let mut byte = [0u8; 1];
    let mut file = std::fs::File::from(fifo.try_clone().expect("dup of the fifo"));
    matches!(file.read(&mut byte), Ok(1))
}

/// The user's program, as PID 1 of the container. Returns the status to `_exit` with.
pub fn exec(process: &ProcessPlan, plan: &ContainerPlan) -> i32 {
    if process.no_new_privileges {
        if let Err(e) = install_seccomp(plan, true) {
            crate::output::note!(
                "hutch-oci: {}",
                crate::error::render(&e, e.hint().as_deref())
            );
            return 1;
        }
    }
    let _ = sys::unblock_all_signals();
    // Rust ignores SIGPIPE, and an ignored signal survives execve.
    let _ = sys::default_disposition(Signal::SIGPIPE);
    let errno = crate::init::exec_search(&process.argv, &process.env);
    let program = process.argv[0].to_string_lossy();
    let status = match errno {
        nix::errno::Errno::ENOENT | nix::errno::Errno::ENOTDIR => 127,
        _ => 126,
    };
    crate::output::note!("hutch-oci: exec {program:?}: {errno}");
    status
}
