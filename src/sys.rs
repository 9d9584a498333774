//! Thin wrappers around the system calls hutch needs, and the only place with `unsafe`.
//!
//! Each wrapper returns a [`SysError`] that names the call and its arguments, so that a failure
//! deep in sandbox set-up reads like `mount("proc" on /newroot/proc): EPERM: Operation not
//! permitted` instead of a bare errno.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

pub mod at;

/// A failed system call: which call, on what, and the errno the kernel returned.
#[derive(Debug, thiserror::Error)]
#[error("{call}: {errno}")]
pub struct SysError {
    pub call: String,
    pub errno: Errno,
}

pub type SysResult<T> = Result<T, SysError>;

impl SysError {
    /// A failed call made through std, which reports an `io::Error`.
    pub fn io(call: impl Into<String>, error: &std::io::Error) -> SysError {
        SysError {
            call: call.into(),
            errno: Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}

/// The error of a failed `call`; the name becomes a `String` only on failure, so that a call
/// that succeeds allocates nothing for it.
fn failed(call: impl Into<String>) -> impl FnOnce(Errno) -> SysError {
    move |errno| SysError {
        call: call.into(),
        errno,
    }
}

/// [`failed`] for a name that must be formatted: only when the call failed, since formatting
/// every call's name up front is measurable in a start-up that makes dozens.
fn failed_with(call: impl FnOnce() -> String) -> impl FnOnce(Errno) -> SysError {
    move |errno| SysError {
        call: call(),
        errno,
    }
}

fn c_path(path: &Path) -> SysResult<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SysError {
        call: format!("path {} contains a NUL byte", path.display()),
        errno: Errno::EINVAL,
    })
}

/// `clone(2)` with fork semantics: the child runs on a copy-on-write copy of this stack, in
/// new namespaces (`flags`).
///
/// Returns `None` in the child and the child's pid in the parent. The child's whole life is
/// `crate::child::run`, which ends it with `_exit`; see `crate::child` for what it may do.
///
/// # Safety
///
/// The calling process must be single-threaded, as for [`fork`]: the child gets only the
/// calling thread, and runs ordinary Rust code (it allocates), which would deadlock on a lock
/// (malloc's, stdio's) that another thread of the parent held at the clone.
pub unsafe fn clone_into_namespaces(flags: nix::sched::CloneFlags) -> SysResult<Option<Pid>> {
    debug_assert_single_threaded("clone");
    let flags = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer clone(2) behaves like fork(2): the child continues on a
    // copy of the parent's address space. No pointers are passed. The caller guarantees that
    // the process is single-threaded, so no lock can be held by a thread that does not exist
    // in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match ret {
        -1 => Err(SysError {
            call: "clone(user, mount, pid, ipc, uts, net and cgroup namespaces)".into(),
            errno: Errno::last(),
        }),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as libc::pid_t))),
    }
}

/// `fork(2)`: `None` in the child. The child's whole life is `crate::child::run`, which ends it
/// with `_exit`.
///
/// # Safety
///
/// The calling process must be single-threaded: the child gets only the calling thread, and
/// runs ordinary Rust code (it allocates), which would deadlock on a lock (malloc's, stdio's)
/// that another thread of the parent held at the fork.
pub unsafe fn fork() -> SysResult<Option<Pid>> {
    debug_assert_single_threaded("fork");
    // SAFETY: the caller guarantees that the process is single-threaded, so the child's copy of
    // memory holds no lock of a thread that does not exist there.
    match unsafe { nix::unistd::fork() }.map_err(failed("fork()"))? {
        nix::unistd::ForkResult::Child => Ok(None),
        nix::unistd::ForkResult::Parent { child } => Ok(Some(child)),
    }
}

/// Debug builds (so the test suite) check the callers of [`fork`] and
/// [`clone_into_namespaces`]: a second thread at a fork is a bug, if a rare deadlock.
fn debug_assert_single_threaded(call: &str) {
    if cfg!(debug_assertions) {
        if let Some(threads) = thread_count() {
            assert_eq!(
                threads, 1,
                "{call} in a process with {threads} threads: see crate::child"
            );
        }
    }
}

/// A set of CPUs (sched_setaffinity(2)).
#[derive(Clone, Copy)]
pub struct CpuSet(libc::cpu_set_t);

const CPU_SET_SIZE: usize = std::mem::size_of::<libc::cpu_set_t>();

/// The CPUs the calling thread may run on; `None` if the kernel does not say.
pub fn allowed_cpus() -> Option<CpuSet> {
    // SAFETY: cpu_set_t is plain bits, for which all zeroes is a valid (empty) value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a cpu_set_t of CPU_SET_SIZE bytes that the call fills in; 0 is the
    // calling thread.
    let ret = unsafe { libc::sched_getaffinity(0, CPU_SET_SIZE, &mut set) };
    (ret == 0).then_some(CpuSet(set))
}

/// Let the calling thread run on `cpus` (best effort).
pub fn run_on(cpus: &CpuSet) {
    // SAFETY: `cpus` is a cpu_set_t of CPU_SET_SIZE bytes, only read by the call.
    let _ = unsafe { libc::sched_setaffinity(0, CPU_SET_SIZE, &cpus.0) };
}

/// Start `thread`, just created, on one of `allowed` other than the CPU the calling thread runs
/// on, if there is one: the kernel sometimes queues a new thread on its creator's CPU, where it
/// waits for the creator to sleep (measured on a 2-CPU VM: in 30 % of sandbox set-ups, 0.47 ms
/// before the mounting thread ran instead of 0.12 ms). The thread gets `allowed` back itself
/// once it runs ([`run_on`]). Best effort: on any failure the scheduler decides.
pub fn start_elsewhere(thread: libc::pthread_t, allowed: &CpuSet) {
    // SAFETY: sched_getcpu takes nothing and returns a CPU number or -1.
    let Ok(here) = usize::try_from(unsafe { libc::sched_getcpu() }) else {
        return;
    };
    if here >= libc::CPU_SETSIZE as usize {
        return;
    }
    let mut elsewhere = allowed.0;
    // SAFETY: CPU_CLR and CPU_COUNT stay within the cpu_set_t they are given; `here` is below
    // CPU_SETSIZE, checked just above.
    let others = unsafe {
        libc::CPU_CLR(here, &mut elsewhere);
        libc::CPU_COUNT(&elsewhere)
    };
    if others == 0 {
        return;
    }
    // SAFETY: `thread` is a live thread of this process (its handle is held by the caller) and
    // `elsewhere` a cpu_set_t of CPU_SET_SIZE bytes, only read by the call.
    let _ = unsafe { libc::pthread_setaffinity_np(thread, CPU_SET_SIZE, &elsewhere) };
}

/// Ask the kernel to send `signal` to this process when its parent thread dies.
pub fn set_parent_death_signal(signal: Signal) -> SysResult<()> {
    nix::sys::prctl::set_pdeathsig(signal)
        .map_err(failed_with(|| format!("prctl(PR_SET_PDEATHSIG, {signal})")))
}

/// Set `no_new_privs`: execve can no longer grant privileges (setuid bits, file capabilities).
pub fn set_no_new_privs() -> SysResult<()> {
    nix::sys::prctl::set_no_new_privs().map_err(failed("prctl(PR_SET_NO_NEW_PRIVS)"))
}

/// Have `command`, once forked, wait until `word` can be read (a byte, or end of file) before
/// it executes its program: the fork overlaps whatever the word waits for.
pub fn exec_after_word(command: &mut std::process::Command, word: BorrowedFd<'_>) {
    use std::os::unix::process::CommandExt;
    let fd = word.as_raw_fd();
    // SAFETY: the closure runs in the forked child before execve and makes only read(2), an
    // async-signal-safe system call, into a byte on its own stack; the errno it reads is the
    // child's own.
    unsafe {
        command.pre_exec(move || {
            let mut byte = 0u8;
            while libc::read(fd, (&mut byte as *mut u8).cast(), 1) == -1
                && *libc::__errno_location() == libc::EINTR
            {}
            Ok(())
        });
    }
}

/// Spawn `command` as a helper that dies with the calling thread: see [`tie_to_parent`].
pub fn spawn_tied_to_parent(
    command: &mut std::process::Command,
    inherit: BorrowedFd<'_>,
) -> std::io::Result<std::process::Child> {
    tie_to_parent(command, inherit);
    command.spawn()
}

/// Have `command`, once forked, get SIGKILL when the calling thread dies, also when the
/// caller is killed by SIGKILL: its parent-death signal, which its program keeps across execve.
/// Steps added to `command` after this one run with the signal armed.
pub fn kill_with_this_thread(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before execve, where only async-signal-safe
    // calls are sound: prctl and getppid are plain system calls that neither allocate nor lock.
    // The io::Error values are built from integers without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            // A parent that died before the prctl would never send the signal.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Make `command` a helper that dies with the calling thread (see [`kill_with_this_thread`]),
/// inheriting `inherit` and no other descriptor above stderr, and none of the caller's blocked
/// signals. Steps added to `command` after this one (see [`exec_after_word`]) run with the
/// parent-death signal armed.
pub fn tie_to_parent(command: &mut std::process::Command, inherit: BorrowedFd<'_>) {
    use std::os::unix::process::CommandExt;
    kill_with_this_thread(command);
    let keep = inherit.as_raw_fd();
    // SAFETY: the closure runs in the forked child before execve, where only async-signal-safe
    // calls are sound: close_range, fcntl and sigprocmask are plain system calls that neither
    // allocate nor lock, and they touch only the child's own state (the sigset is a local on
    // the stack). The io::Error values are built from integers without allocating.
    unsafe {
        command.pre_exec(move || {
            // The launcher blocks the signals it takes with sigwaitinfo; the helper must not
            // inherit that (a blocked SIGTERM would make it deaf to an ordinary kill).
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            // Descriptors hutch was started with stay hutch's.
            libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int);
            if libc::fcntl(keep, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> SysResult<()> {
    nix::mount::mount(source, target, fstype, flags, data).map_err(|errno| SysError {
        call: format!(
            "mount({} on {}{}{})",
            match (fstype, source) {
                (Some(fs), _) => format!("{fs:?}"),
                (None, Some(src)) => format!("{}", src.display()),
                (None, None) => "\"\"".into(),
            },
            target.display(),
            if flags.is_empty() {
                String::new()
            } else {
                format!(", {flags:?}")
            },
            data.map(|d| format!(", {d:?}")).unwrap_or_default(),
        ),
        errno,
    })
}

/// Mount attributes for mount_setattr(2) (`MOUNT_ATTR_*` in linux/mount.h).
pub mod mount_attr {
    pub const RDONLY: u64 = 0x0000_0001;
    pub const NOSUID: u64 = 0x0000_0002;
    pub const NODEV: u64 = 0x0000_0004;
    pub const NOEXEC: u64 = 0x0000_0008;
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> SysResult<()> {
    nix::unistd::pivot_root(new_root, put_old).map_err(failed_with(|| {
        format!("pivot_root({}, {})", new_root.display(), put_old.display())
    }))
}

pub fn detach_mount(target: &Path) -> SysResult<()> {
    nix::mount::umount2(target, MntFlags::MNT_DETACH).map_err(failed_with(|| {
        format!("umount2({}, MNT_DETACH)", target.display())
    }))
}

pub fn chdir(dir: &Path) -> SysResult<()> {
    nix::unistd::chdir(dir).map_err(failed_with(|| format!("chdir({})", dir.display())))
}

pub fn sethostname(name: &str) -> SysResult<()> {
    nix::unistd::sethostname(name).map_err(failed_with(|| format!("sethostname({name:?})")))
}

/// Bring the loopback interface of the current network namespace up.
pub fn loopback_up() -> SysResult<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(failed("socket(AF_INET, SOCK_DGRAM)"))?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: `sock` is an open socket and `req` a valid ifreq naming "lo" that lives across the
    // call; SIOCSIFFLAGS only reads it.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) };
    if ret == -1 {
        return Err(SysError {
            call: "ioctl(lo, SIOCSIFFLAGS, IFF_UP)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// Create the tap interface `name` in this network namespace and make it persistent, for pasta
/// to attach to by name. The point is its end: a tap that is not persistent is unregistered
/// when its last descriptor closes, which waits for RCU grace periods (about 16 ms here) in
/// the closing process's exit — pasta's, which the launcher waits for. A persistent one goes
/// with the network namespace instead, in the kernel's own worker, waited for by nobody.
/// Needs CAP_NET_ADMIN over the namespace and access to `/dev/net/tun`.
pub fn create_persistent_tap(name: &str) -> SysResult<()> {
    let tun = rustix::fs::open(
        "/dev/net/tun",
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| SysError {
        call: "open(/dev/net/tun)".into(),
        errno: Errno::from_raw(e.raw_os_error()),
    })?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.is_empty() || name.len() >= req.ifr_name.len() {
        return Err(SysError {
            call: format!("TUNSETIFF({name})"),
            errno: Errno::EINVAL,
        });
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // pasta asks for the same kind: a tap without packet information. The kernel attaches a
    // descriptor to an existing device only if it is of the kind asked for.
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: `tun` is open on the tun/tap clone device and `req` a valid, NUL-terminated ifreq
    // that lives across the call; TUNSETIFF reads it and writes the name back into it.
    if unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut req) } == -1 {
        return Err(SysError {
            call: format!("ioctl(/dev/net/tun, TUNSETIFF, {name})"),
            errno: Errno::last(),
        });
    }
    // SAFETY: TUNSETPERSIST takes its argument by value; no memory is passed.
    if unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETPERSIST, 1 as libc::c_ulong) } == -1 {
        return Err(SysError {
            call: format!("ioctl({name}, TUNSETPERSIST)"),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// Mark every file descriptor from `first` upwards close-on-exec: one close_range(2) on 5.11+,
/// otherwise one fcntl per descriptor listed in `/proc/self/fd`.
pub fn cloexec_from(first: u32) -> SysResult<()> {
    // SAFETY: close_range only changes flags of this process's descriptors; no memory is passed.
    let ret =
        unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) };
    if ret == 0 {
        return Ok(());
    }
    let errno = Errno::last();
    if !matches!(errno, Errno::ENOSYS | Errno::EINVAL) {
        return Err(SysError {
            call: format!("close_range({first}, ~0, CLOEXEC)"),
            errno,
        });
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| SysError::io("opendir(/proc/self/fd)", &e))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first as i32)
        .collect();
    for fd in fds {
        // SAFETY: fcntl(F_SETFD) takes no pointers; a descriptor that closed meanwhile (the
        // directory listing's own) just fails with EBADF, which is ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Block `signals` for this thread (and, across fork/clone, for children until they unblock).
pub fn block_signals(signals: &SigSet) -> SysResult<()> {
    signals
        .thread_block()
        .map_err(failed("sigprocmask(SIG_BLOCK)"))
}

pub fn unblock_all_signals() -> SysResult<()> {
    SigSet::all()
        .thread_unblock()
        .map_err(failed("sigprocmask(SIG_UNBLOCK)"))
}

/// A signal taken from the pending set by [`wait_for_signal`].
#[derive(Debug, Clone, Copy)]
pub struct ReceivedSignal {
    pub signal: libc::c_int,
    /// `si_code`: `SI_KERNEL` when the terminal raised it (Ctrl-C, window resize), `SI_USER` when
    /// a process sent it with kill(2).
    pub code: libc::c_int,
}

impl ReceivedSignal {
    pub fn from_terminal_or_kernel(&self) -> bool {
        self.code == libc::SI_KERNEL
    }
}

/// `sigwaitinfo(2)` on `signals`, which must be blocked; retries on EINTR.
pub fn wait_for_signal(signals: &SigSet) -> SysResult<ReceivedSignal> {
    loop {
        // SAFETY: siginfo_t is plain old data; all-zero is valid and the kernel fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers refer to live, properly typed values for the whole call.
        let ret = unsafe { libc::sigwaitinfo(signals.as_ref(), &mut info) };
        if ret == -1 {
            match Errno::last() {
                Errno::EINTR => continue,
                errno => {
                    return Err(SysError {
                        call: "sigwaitinfo()".into(),
                        errno,
                    })
                }
            }
        }
        return Ok(ReceivedSignal {
            signal: ret,
            code: info.si_code,
        });
    }
}

/// Have glibc resolve host names with its built-in `files` and `dns` services only, whatever
/// nsswitch.conf lists. hutch is linked statically: a service glibc would load as a shared
/// object (libnss_mdns4_minimal, libnss_sss, libnss_resolve…) brings a second libc into the
/// process, which is how hutch used to crash on directory-service hosts. /etc/hosts and the
/// nameservers of /etc/resolv.conf (systemd-resolved's stub too) still answer.
pub fn resolve_hosts_with_builtin_services() -> SysResult<()> {
    extern "C" {
        // glibc's (GLIBC_2.0): replaces the service list of one database of nsswitch.conf.
        fn __nss_configure_lookup(
            database: *const libc::c_char,
            services: *const libc::c_char,
        ) -> libc::c_int;
    }
    // SAFETY: both arguments are NUL-terminated literals that outlive the call; glibc copies
    // what it keeps. Called before any thread of this process resolves a name.
    let ret = unsafe { __nss_configure_lookup(c"hosts".as_ptr(), c"files dns".as_ptr()) };
    if ret != 0 {
        return Err(SysError {
            call: "__nss_configure_lookup(hosts, files dns)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// Send a raw signal number (forwarding keeps whatever the sender used, real-time or not).
pub fn kill(pid: Pid, signal: libc::c_int) -> SysResult<()> {
    // SAFETY: kill(2) takes no pointers.
    if unsafe { libc::kill(pid.as_raw(), signal) } == -1 {
        return Err(SysError {
            call: format!("kill({pid}, {signal})"),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// Restore the default disposition of `signal` (an inherited SIG_IGN on SIGCHLD would make the
/// kernel reap children before we can read their status).
pub fn default_disposition(signal: Signal) -> SysResult<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler};
    let action = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no handler code, so no async-signal-safety concern.
    unsafe { sigaction(signal, &action) }
        .map_err(failed_with(|| format!("sigaction({signal}, SIG_DFL)")))?;
    Ok(())
}

/// posix_spawn(3) of `path`: glibc starts the child with CLONE_VM | CLONE_VFORK, so it shares
/// this process's memory until it execs and nothing is copied, unlike fork(2). The child starts
/// with no signal blocked and SIGPIPE at its default disposition. The error is the exec's own
/// (ENOENT, EACCES, ENOEXEC, ...), reported back by glibc.
pub fn spawn(path: &CStr, argv: &[CString], envp: &[CString]) -> Result<Pid, Errno> {
    let pointers = |strings: &[CString]| -> Vec<*mut libc::c_char> {
        strings
            .iter()
            .map(|s| s.as_ptr().cast_mut())
            .chain(std::iter::once(std::ptr::null_mut()))
            .collect()
    };
    let (argv, envp) = (pointers(argv), pointers(envp));
    let no_signals = SigSet::empty();
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: posix_spawnattr_init initialises the attribute object it is given.
    let ret = unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) };
    if ret != 0 {
        return Err(Errno::from_raw(ret));
    }
    // SAFETY: initialised just above.
    let mut attr = unsafe { attr.assume_init() };
    let flags = (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short;
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr` is initialised; the signal sets live across the calls, which copy them.
    // `path` is a C string and `argv`/`envp` null-terminated arrays of pointers to C strings,
    // all borrowed for the whole call; the child execs or exits before posix_spawn returns, so
    // nothing it reads outlives them. The attribute object is destroyed once, after use.
    let ret = unsafe {
        let mut ret = libc::posix_spawnattr_setsigmask(&mut attr, no_signals.as_ref());
        if ret == 0 {
            ret = libc::posix_spawnattr_setsigdefault(&mut attr, pipe.as_ref());
        }
        if ret == 0 {
            ret = libc::posix_spawnattr_setflags(&mut attr, flags);
        }
        if ret == 0 {
            ret = libc::posix_spawn(
                &mut pid,
                path.as_ptr(),
                std::ptr::null(),
                &attr,
                argv.as_ptr(),
                envp.as_ptr(),
            );
        }
        libc::posix_spawnattr_destroy(&mut attr);
        ret
    };
    if ret == 0 {
        Ok(Pid::from_raw(pid))
    } else {
        Err(Errno::from_raw(ret))
    }
}

/// `access(path, X_OK)`: may this process execute `path`, as far as its mode bits say?
pub fn executable(path: &CStr) -> Result<(), Errno> {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK)
}

/// `execve(2)`; only returns on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> Errno {
    match nix::unistd::execve(path, argv, envp) {
        Err(errno) => errno,
        Ok(never) => match never {},
    }
}

/// Is `fd` readable without blocking, or has its writer gone (POLLHUP)?
pub fn peer_closed(fd: BorrowedFd<'_>) -> SysResult<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).map_err(failed("poll(lifeline)"))?;
    Ok(fds[0]
        .revents()
        .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLIN)))
}

/// The highest capability number this kernel knows: the highest that prctl(PR_CAPBSET_READ)
/// does not call invalid, found by bisection as libcap does. /proc/sys/kernel/cap_last_cap
/// says the same, but opening it costs about three times the six calls, and /proc may be
/// missing. A call refused for another reason (a seccomp filter) counts as known, so that
/// whoever drops the bounding set up to here drops too much rather than too little.
pub fn last_capability() -> u32 {
    let known = |cap: u32| {
        // SAFETY: prctl(PR_CAPBSET_READ) takes integers only and writes nothing.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        ret >= 0 || Errno::last() != Errno::EINVAL
    };
    // CAP_CHOWN (0) is known to every kernel; no kernel has 64 capabilities (the sets are
    // 64-bit masks).
    let (mut known_up_to, mut invalid_from) = (0, 64);
    while invalid_from - known_up_to > 1 {
        let middle = (known_up_to + invalid_from) / 2;
        if known(middle) {
            known_up_to = middle;
        } else {
            invalid_from = middle;
        }
    }
    known_up_to
}

/// Remove `cap` from the bounding set: no execve can ever grant it again.
pub fn drop_bounding_capability(cap: u32) -> SysResult<()> {
    // SAFETY: prctl(PR_CAPBSET_DROP) takes integers only.
    let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
    // EINVAL: the kernel does not know this capability, so it cannot be granted either.
    if ret == -1 && Errno::last() != Errno::EINVAL {
        return Err(SysError {
            call: format!("prctl(PR_CAPBSET_DROP, {cap})"),
            errno: Errno::last(),
        });
    }
    Ok(())
}

pub fn clear_ambient_capabilities() -> SysResult<()> {
    // SAFETY: prctl(PR_CAP_AMBIENT) takes integers only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // EINVAL: kernels before 4.3 have no ambient set, so there is nothing to clear.
    if ret == -1 && Errno::last() != Errno::EINVAL {
        return Err(SysError {
            call: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// capset(2): this thread's effective and permitted sets become `keep` (a bit mask over
/// capability numbers), the inheritable set becomes empty.
pub fn set_capabilities(keep: u64) -> SysResult<()> {
    set_capability_sets(keep, keep, 0)
}

/// Make system call `nr` with all-zero arguments and return the errno it failed with; for tests
/// that tell a seccomp refusal from an argument error.
#[cfg(test)]
pub fn probe_syscall(nr: libc::c_long) -> Option<Errno> {
    // SAFETY: only used in tests with calls for which all-zero arguments (null pointers, zero
    // sizes) are rejected or harmless; no memory of ours is handed to the kernel.
    let ret = unsafe { libc::syscall(nr, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize) };
    (ret == -1).then(Errno::last)
}

/// The Landlock ABI version the kernel offers: `Err(ENOSYS)` when not built in,
/// `Err(EOPNOTSUPP)` when built in but not enabled at boot.
pub fn landlock_abi_version() -> Result<i32, Errno> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer and size 0, this flag only asks for the version.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as i32)
    }
}

/// `unshare(2)`: move this process into new namespaces.
pub fn unshare(flags: nix::sched::CloneFlags) -> SysResult<()> {
    nix::sched::unshare(flags).map_err(failed_with(|| format!("unshare({flags:?})")))
}

/// `getxattr(2)` of attribute `name` on `path`, following symlinks: `None` when the file has no
/// such attribute (ENODATA) or its file system has no extended attributes (EOPNOTSUPP).
pub fn getxattr(path: &Path, name: &CStr) -> SysResult<Option<Vec<u8>>> {
    let c = c_path(path)?;
    let failure = |errno| SysError {
        call: format!("getxattr({}, {})", path.display(), name.to_string_lossy()),
        errno,
    };
    let absent = |errno| match errno {
        Errno::ENODATA | Errno::EOPNOTSUPP => Ok(None),
        errno => Err(failure(errno)),
    };
    // The value may grow between asking for its size and reading it: retry on ERANGE.
    for _ in 0..4 {
        // SAFETY: `c` and `name` are NUL-terminated strings that outlive the call; a null buffer
        // with size 0 only asks for the value's size, the kernel writes nothing.
        let size = unsafe { libc::getxattr(c.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            return absent(Errno::last());
        }
        let mut value = vec![0u8; size as usize];
        // SAFETY: `value` is a live, writable buffer of `value.len()` bytes, and the kernel
        // writes at most that many.
        let got = unsafe {
            libc::getxattr(
                c.as_ptr(),
                name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if got >= 0 {
            value.truncate(got as usize);
            return Ok(Some(value));
        }
        match Errno::last() {
            Errno::ERANGE => continue,
            errno => return absent(errno),
        }
    }
    Err(failure(Errno::ERANGE))
}

/// `_exit(2)`: end the process without running exit handlers or flushing stdio, as a child
/// forked from a multi-threaded process must.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns; skipping exit handlers is the point.
    unsafe { libc::_exit(code) }
}

/// prctl(PR_SET_DUMPABLE): a non-dumpable process cannot be ptraced or have its /proc entries
/// read by processes of the same user.
pub fn set_dumpable(dumpable: bool) -> SysResult<()> {
    nix::sys::prctl::set_dumpable(dumpable).map_err(failed_with(|| {
        format!("prctl(PR_SET_DUMPABLE, {})", dumpable as u8)
    }))
}

/// pidfd_open(2): a descriptor that names `pid` stably (Linux 5.3+); signals and setns through
/// it cannot hit a recycled pid.
pub fn pidfd_open(pid: Pid) -> SysResult<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes integers; on success it returns a new descriptor we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(SysError {
            call: format!("pidfd_open({pid})"),
            errno: Errno::last(),
        });
    }
    // SAFETY: `fd` is a fresh descriptor returned by the kernel and owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: Signal) -> SysResult<()> {
    // SAFETY: a valid descriptor, a signal number, no siginfo (null) and no flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret == -1 {
        return Err(SysError {
            call: format!("pidfd_send_signal({signal})"),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// setns(2) with a pidfd: join several of the process's namespaces at once (Linux 5.8+).
pub fn setns(pidfd: BorrowedFd<'_>, namespaces: nix::sched::CloneFlags) -> SysResult<()> {
    nix::sched::setns(pidfd, namespaces)
        .map_err(failed_with(|| format!("setns(pidfd, {namespaces:?})")))
}

pub fn setsid() -> SysResult<()> {
    nix::unistd::setsid().map(drop).map_err(failed("setsid()"))
}

/// The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), which with
/// the pid names one process across pid reuse.
pub fn process_start_time(pid: Pid) -> Option<u64> {
    use std::io::Read;
    // A stat line is a few hundred bytes: read in one call (`hutch ls` does this per process).
    let mut stat = Vec::with_capacity(1024);
    std::fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut file| file.read_to_end(&mut stat))
        .ok()?;
    parse_start_time(std::str::from_utf8(&stat).ok()?)
}

/// Field 22 of a /proc/PID/stat line; the command name (field 2) may contain spaces and `)`.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 2..];
    // after_comm starts at field 3; field 22 is the 20th from there.
    after_comm.split(' ').nth(19)?.parse().ok()
}

fn ofd_lock_struct(kind: libc::c_int) -> libc::flock {
    // SAFETY: `struct flock` is plain old data; all-zero is a valid value (whole file from 0).
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock
}

/// Take an exclusive open-file-description lock (F_OFD_SETLK) on the whole of `fd`: `Ok(false)`
/// when another holds it. The kernel drops it when the last descriptor of the open file closes,
/// i.e. when the holder dies, however it dies.
pub fn ofd_lock(fd: BorrowedFd<'_>) -> SysResult<bool> {
    let lock = ofd_lock_struct(libc::F_WRLCK);
    // SAFETY: `lock` is a valid struct flock that lives across the call; F_OFD_SETLK reads it.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &lock) };
    match ret {
        0 => Ok(true),
        _ => match Errno::last() {
            Errno::EAGAIN | Errno::EACCES => Ok(false),
            errno => Err(SysError {
                call: "fcntl(F_OFD_SETLK)".into(),
                errno,
            }),
        },
    }
}

/// openat2(2) with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: open `path` as if `root` were `/`.
/// Absolute symlinks and `..` are resolved within `root` and can never leave it (the kernel
/// checks every step of the walk, as in a chroot), and /proc's magic links are refused. This is
/// what keeps a hostile archive's names inside an image (see `image::extract`). Linux 5.6+.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: rustix::fs::OFlags,
) -> SysResult<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, ResolveFlags};
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    // The root itself: openat2 refuses an empty path.
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(
            root,
            path,
            flags | rustix::fs::OFlags::CLOEXEC,
            Mode::empty(),
            resolve,
        ) {
            Ok(fd) => return Ok(fd),
            // EAGAIN: a concurrent rename raced the walk; the kernel asks for a retry.
            Err(e) if e == rustix::io::Errno::AGAIN && tries < 8 => tries += 1,
            Err(e) => {
                return Err(SysError {
                    call: format!("openat2({}, RESOLVE_IN_ROOT)", path.display()),
                    errno: Errno::from_raw(e.raw_os_error()),
                })
            }
        }
    }
}

/// Close every file descriptor from `first` upwards (close_range(2); best effort).
pub fn close_from(first: u32) {
    // SAFETY: close_range takes integers; closing descriptors this process owns is sound as long
    // as nothing uses them afterwards, which callers guarantee (init in its final loop).
    unsafe { libc::close_range(first, u32::MAX, 0) };
}

/// Make `fd` non-blocking and have the kernel send SIGIO to this process when it becomes
/// readable (fcntl F_SETOWN, O_ASYNC).
pub fn signal_when_readable(fd: BorrowedFd<'_>) -> SysResult<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    // SAFETY: F_SETOWN takes an integer (our pid); no memory is passed.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETOWN, libc::getpid()) } == -1 {
        return Err(SysError {
            call: "fcntl(F_SETOWN)".into(),
            errno: Errno::last(),
        });
    }
    fcntl(
        fd.as_raw_fd(),
        FcntlArg::F_SETFL(OFlag::O_ASYNC | OFlag::O_NONBLOCK),
    )
    .map(drop)
    .map_err(failed("fcntl(F_SETFL, O_ASYNC|O_NONBLOCK)"))
}

/// The terminal on standard input, if it is one (its path, e.g. /dev/pts/3).
pub fn stdin_terminal() -> Option<std::path::PathBuf> {
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    if !nix::unistd::isatty(stdin.as_fd().as_raw_fd()).unwrap_or(false) {
        return None;
    }
    nix::unistd::ttyname(stdin.as_fd()).ok()
}

/// Become `uid`/`gid` (real, effective and saved), with `gid` as the only supplementary group
/// where the user namespace allows setgroups. Leaving uid 0 clears the capabilities left.
pub fn become_user(uid: u32, gid: u32) -> SysResult<()> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let gid = Gid::from_raw(gid);
    let denied = std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !denied {
        setgroups(&[gid]).map_err(failed_with(|| format!("setgroups([{gid}])")))?;
    }
    setresgid(gid, gid, gid).map_err(failed_with(|| format!("setresgid({gid})")))?;
    let uid = Uid::from_raw(uid);
    setresuid(uid, uid, uid).map_err(failed_with(|| format!("setresuid({uid})")))
}

/// Hand back the pages of hutch's own executable that this process touched so far and that are
/// still exactly the file's: madvise(MADV_DONTNEED) over its read-only private mappings. The
/// page cache keeps them, so a later access faults the same bytes in again (a minor fault);
/// only this process's share of them goes. Returns the number of bytes released.
///
/// For a long-lived process that forked after parsing the command line and building a sandbox
/// (an environment's supervisor and idle PID 1), these pages are most of its memory: it will
/// not run that code again.
pub fn release_executable_pages() -> SysResult<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")
        .map_err(|e| SysError::io("read /proc/self/smaps", &e))?;
    let mut released = 0;
    for range in unmodified_executable_ranges(&smaps, own_code()) {
        let len = range.end - range.start;
        // SAFETY: MADV_DONTNEED on a private file mapping discards its anonymous (copied on
        // write) pages and refills the rest from the file. The ranges are read-only mappings
        // of our own executable in which the kernel reports no anonymous page, resident or
        // swapped: nothing there differs from the file, so no value this program holds
        // changes. Nothing writes to a read-only mapping between reading smaps and this call
        // short of mprotect(2) or ptrace(2), which hutch does not use on itself.
        let ret =
            unsafe { libc::madvise(range.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if ret == -1 {
            return Err(SysError {
                call: format!("madvise({:#x}, {len}, MADV_DONTNEED)", range.start),
                errno: Errno::last(),
            });
        }
        released += len;
    }
    Ok(released)
}

/// An address in our executable's code.
fn own_code() -> usize {
    release_executable_pages as fn() -> SysResult<usize> as usize
}

/// From the text of /proc/self/smaps: the read-only private mappings of the file that holds
/// address `inside` (our executable) with no anonymous page in them, resident or swapped.
///
/// Anonymous and Swap, not Private_Dirty: a text page of a freshly written binary counts as
/// dirty (the page cache has not been written back yet) though this process never wrote it;
/// a page it did write — the relocated `.data.rel.ro`, read-only again after relocation — is
/// an anonymous copy, and that mapping is left alone.
fn unmodified_executable_ranges(smaps: &str, inside: usize) -> Vec<std::ops::Range<usize>> {
    struct Mapping<'a> {
        range: std::ops::Range<usize>,
        perms: &'a str,
        file: (&'a str, &'a str),
        anonymous: Option<u64>,
        swap: Option<u64>,
    }
    let mut mappings: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        let range = first.split_once('-').and_then(|(start, end)| {
            Some(usize::from_str_radix(start, 16).ok()?..usize::from_str_radix(end, 16).ok()?)
        });
        if let Some(range) = range {
            let perms = words.next().unwrap_or("");
            let _offset = words.next();
            let file = (words.next().unwrap_or(""), words.next().unwrap_or("0"));
            mappings.push(Mapping {
                range,
                perms,
                file,
                anonymous: None,
                swap: None,
            });
            continue;
        }
        let (Some(mapping), Some(kib)) = (mappings.last_mut(), words.next()) else {
            continue;
        };
        match first {
            "Anonymous:" => mapping.anonymous = kib.parse().ok(),
            "Swap:" => mapping.swap = kib.parse().ok(),
            _ => {}
        }
    }
    let Some(own) = mappings.iter().find(|m| m.range.contains(&inside)) else {
        return Vec::new();
    };
    if own.file.1 == "0" {
        return Vec::new();
    }
    mappings
        .iter()
        .filter(|m| {
            m.file == own.file
                && m.perms.as_bytes().get(1) == Some(&b'-')
                && m.perms.as_bytes().get(3) == Some(&b'p')
                && m.anonymous == Some(0)
                && m.swap == Some(0)
        })
        .map(|m| m.range.clone())
        .collect()
}

/// malloc_trim(3): return the heap's free pages to the kernel (glibc).
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes an integer and only gives free heap memory back.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How many threads this process has: field 20 of `/proc/self/stat` (proc(5)). `None` where it
/// cannot be read.
pub fn thread_count() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    threads_from_stat(&stat)
}

/// Field 20 (num_threads) of a `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so fields are counted after the
/// last `)`.
fn threads_from_stat(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // Field 3 (state) is the first after the name.
    after_name.split_whitespace().nth(20 - 3)?.parse().ok()
}

/// Ignore SIGPIPE, as Rust's own runtime would: a write to a closed pipe then fails with EPIPE,
/// which `crate::output` turns into a quiet exit, instead of killing hutch. An ignored signal
/// survives execve, so everything hutch execs gets the default back first (init's
/// `exec_payload`, [`spawn`]; std's `Command` resets it itself).
pub fn ignore_broken_pipe_signal() {
    // SAFETY: installing SIG_IGN runs no handler code; the previous disposition is not needed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// openat2(2) with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: open `path` (relative) inside `dir`
/// through real directories only. A `..` that climbs out, an absolute path or a symlink in any
/// component (the last included, as O_NOFOLLOW) fails with EXDEV or ELOOP. For files named by
/// untrusted content, such as an OCI layout's blobs. Linux 5.6+.
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: rustix::fs::OFlags,
) -> SysResult<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, ResolveFlags};
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(
            dir,
            path,
            flags | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOFOLLOW,
            Mode::empty(),
            resolve,
        ) {
            Ok(fd) => return Ok(fd),
            // EAGAIN: a concurrent rename raced the walk; the kernel asks for a retry.
            Err(e) if e == rustix::io::Errno::AGAIN && tries < 8 => tries += 1,
            Err(e) => {
                return Err(SysError {
                    call: format!(
                        "openat2({}, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)",
                        path.display()
                    ),
                    errno: Errno::from_raw(e.raw_os_error()),
                })
            }
        }
    }
}

/// Make sure descriptors 0, 1 and 2 are open (on /dev/null where the caller closed one), so
/// that no descriptor opened later takes a standard number by accident.
pub fn fill_standard_fds() -> SysResult<()> {
    for fd in 0..3 {
        // SAFETY: F_GETFD only asks whether `fd` is open; no memory is passed.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 && Errno::last() == Errno::EBADF {
            // Lowest free number first (open(2)): this is `fd`.
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| SysError::io("open(/dev/null)", &e))?;
            std::mem::forget(std::os::fd::OwnedFd::from(null));
        }
    }
    Ok(())
}

/// Open the pty multiplexer of the devpts instance at `/dev/pts` of the current mount
/// namespace (pts(4)): a new pseudoterminal pair of that instance, its master non-blocking and
/// unlocked. No symlink is followed, and the node must be the multiplexer (5:2): what a hostile
/// root inside put there is refused rather than opened.
pub fn open_pty_master() -> SysResult<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
    let call = "openat2(/dev/pts/ptmx, RESOLVE_NO_SYMLINKS)";
    let master = rustix::fs::openat2(
        CWD,
        "/dev/pts/ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOFOLLOW,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| SysError {
        call: call.into(),
        errno: Errno::from_raw(e.raw_os_error()),
    })?;
    let stat = rustix::fs::fstat(&master).map_err(|e| SysError {
        call: "fstat(/dev/pts/ptmx)".into(),
        errno: Errno::from_raw(e.raw_os_error()),
    })?;
    let is_multiplexer = stat.st_mode & libc::S_IFMT == libc::S_IFCHR
        && libc::major(stat.st_rdev) == 5
        && libc::minor(stat.st_rdev) == 2;
    if !is_multiplexer {
        return Err(SysError {
            call: "/dev/pts/ptmx is not the pty multiplexer (character device 5:2)".into(),
            errno: Errno::ENODEV,
        });
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int, which lives across the call.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } == -1 {
        return Err(SysError {
            call: "ioctl(TIOCSPTLCK)".into(),
            errno: Errno::last(),
        });
    }
    Ok(master)
}

/// ioctl(TIOCGPTPEER) (Linux 4.13+): open the slave of `master` through the master itself, not
/// by a path under /dev/pts that the sandbox could have changed (ioctl_tty(2)).
pub fn open_pty_slave(master: BorrowedFd<'_>) -> SysResult<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes the open flags as an integer and returns a new descriptor.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if fd < 0 {
        return Err(SysError {
            call: "ioctl(TIOCGPTPEER)".into(),
            errno: Errno::last(),
        });
    }
    // SAFETY: a fresh descriptor from the kernel, owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// ioctl(TIOCSCTTY): make the terminal on `fd` the controlling terminal of this process, which
/// must lead a session without one (after setsid).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> SysResult<()> {
    // SAFETY: TIOCSCTTY takes an integer (0: do not steal a terminal another session has).
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) } == -1 {
        return Err(SysError {
            call: "ioctl(TIOCSCTTY)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// The window size of the terminal on `fd` (TIOCGWINSZ).
pub fn window_size(fd: BorrowedFd<'_>) -> SysResult<libc::winsize> {
    // SAFETY: winsize is plain old data; all-zero is valid.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one struct winsize, which lives across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) } == -1 {
        return Err(SysError {
            call: "ioctl(TIOCGWINSZ)".into(),
            errno: Errno::last(),
        });
    }
    Ok(size)
}

/// Set the window size of the terminal on `fd` (TIOCSWINSZ); its foreground process group
/// gets SIGWINCH when it changes.
pub fn set_window_size(fd: BorrowedFd<'_>, size: &libc::winsize) -> SysResult<()> {
    // SAFETY: TIOCSWINSZ reads one struct winsize, which lives across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, size) } == -1 {
        return Err(SysError {
            call: "ioctl(TIOCSWINSZ)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// splice(2) up to `len` bytes from `from` to `to`, one of which must be a pipe; the pipe side
/// does not block (SPLICE_F_NONBLOCK). `Ok(0)` is end of file.
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> Result<usize, Errno> {
    // SAFETY: two descriptors, null offsets (use and advance the file positions), integers.
    let moved = unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if moved < 0 {
        return Err(Errno::last());
    }
    Ok(moved as usize)
}

/// Close every descriptor from `first` upwards except `keep` (close_range(2)).
pub fn close_from_except(first: u32, keep: BorrowedFd<'_>) {
    let keep = keep.as_raw_fd() as u32;
    // SAFETY: close_range takes integers. The caller (a forked child about to exec) uses no
    // descriptor above `first` afterwards but `keep`.
    unsafe {
        if keep > first {
            libc::close_range(first, keep - 1, 0);
        }
        libc::close_range(keep.max(first.saturating_sub(1)) + 1, u32::MAX, 0);
    }
}

/// dup2(2) `fd` onto `target` (which loses close-on-exec, so it survives execve).
pub fn duplicate_onto(fd: libc::c_int, target: libc::c_int) -> SysResult<()> {
    if fd == target {
        // dup2 would keep FD_CLOEXEC; clear it so the descriptor survives execve.
        return nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map(drop)
        .map_err(failed_with(|| format!("fcntl({fd}, F_SETFD, 0)")));
    }
    nix::unistd::dup2(fd, target)
        .map(drop)
        .map_err(failed_with(|| format!("dup2({fd}, {target})")))
}

/// A pipe whose read end (non-blocking) stays in this process and whose write end a child
/// inherits across execve.
pub fn inheritable_pipe() -> SysResult<(std::fs::File, std::os::fd::OwnedFd)> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
    let (read, write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(failed("pipe2()"))?;
    // O_NONBLOCK belongs to each end's open file description; the write end's is of no concern.
    fcntl(write.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty()))
        .map_err(failed("fcntl(F_SETFD, 0)"))?;
    Ok((std::fs::File::from(read), write))
}

/// The device and inode numbers of what `fd` refers to (a pipe's are unique while it exists).
pub fn file_identity(fd: BorrowedFd) -> SysResult<(u64, u64)> {
    nix::sys::stat::fstat(fd.as_raw_fd())
        .map(|stat| (stat.st_dev, stat.st_ino))
        .map_err(failed("fstat()"))
}

/// Take ownership of inherited descriptor `fd` if it is the pipe of `identity` (see
/// [`file_identity`]): close-on-exec from now on, closed when dropped. Anything else by that
/// number is left alone.
pub fn take_inherited_pipe(fd: libc::c_int, identity: (u64, u64)) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let stat = nix::sys::stat::fstat(fd).ok()?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFIFO || (stat.st_dev, stat.st_ino) != identity {
        return None;
    }
    // SAFETY: `fd` is open (fstat succeeded) and is the pipe this process was handed by
    // number; nothing in this process has taken it (the caller runs first thing in main).
    let pipe = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    Some(pipe)
}

/// Descriptor 0, 1 or 2 of this process.
pub fn standard_fd(fd: i32) -> BorrowedFd<'static> {
    assert!((0..3).contains(&fd), "not a standard descriptor: {fd}");
    // SAFETY: hutch never closes its standard descriptors (a forked child replaces them with
    // dup2, which keeps the number open), and `fill_standard_fds` opens any the caller closed.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// [`wait_for_signal`] for at most `timeout` (`sigtimedwait(2)`): `None` when it passed first.
pub fn wait_for_signal_until(
    signals: &SigSet,
    timeout: std::time::Duration,
) -> SysResult<Option<ReceivedSignal>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let spec = libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: left.subsec_nanos() as libc::c_long,
        };
        // SAFETY: siginfo_t is plain old data; all-zero is valid and the kernel fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: the three pointers refer to live, properly typed values for the whole call.
        let ret = unsafe { libc::sigtimedwait(signals.as_ref(), &mut info, &spec) };
        if ret == -1 {
            match Errno::last() {
                Errno::EINTR => continue,
                Errno::EAGAIN => return Ok(None),
                errno => {
                    return Err(SysError {
                        call: "sigtimedwait()".into(),
                        errno,
                    })
                }
            }
        }
        return Ok(Some(ReceivedSignal {
            signal: ret,
            code: info.si_code,
        }));
    }
}

/// Make `fd` non-blocking and have the kernel send this process SIGIO when it has input
/// (fcntl(2), F_SETOWN and O_ASYNC): a loop that waits for signals then also hears it.
pub fn signal_on_input(fd: BorrowedFd) -> SysResult<()> {
    let failed = |call: &str| SysError {
        call: call.into(),
        errno: Errno::last(),
    };
    // SAFETY: fcntl(2) on a descriptor the caller keeps open; no pointers.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETOWN, libc::getpid()) } == -1 {
        return Err(failed("fcntl(F_SETOWN)"));
    }
    // SAFETY: as above.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags == -1 {
        return Err(failed("fcntl(F_GETFL)"));
    }
    // SAFETY: as above.
    let set = unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            flags | libc::O_ASYNC | libc::O_NONBLOCK,
        )
    };
    if set == -1 {
        return Err(failed("fcntl(F_SETFL, O_ASYNC)"));
    }
    Ok(())
}

// --- OCI runtime (`hutch-oci`): credentials of a container's process. ---

/// capset(2) with the three sets given separately (OCI's `process.capabilities`), as bit masks
/// over capability numbers.
pub fn set_capability_sets(effective: u64, permitted: u64, inheritable: u64) -> SysResult<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [
        Data {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        Data {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and data are the v3 layout of cap_user_header_t and two cap_user_data_t
    // (linux/capability.h), alive for the whole call; the kernel only reads `data`.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if ret == -1 {
        return Err(SysError {
            call: format!(
                "capset(effective {effective:#x}, permitted {permitted:#x}, inheritable \
                 {inheritable:#x})"
            ),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// prctl(PR_CAP_AMBIENT_RAISE): `cap` stays across execve for a process that is not root.
pub fn raise_ambient_capability(cap: u32) -> SysResult<()> {
    // SAFETY: prctl(PR_CAP_AMBIENT) takes integers only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap as libc::c_ulong,
            0,
            0,
        )
    };
    if ret == -1 {
        return Err(SysError {
            call: format!("prctl(PR_CAP_AMBIENT_RAISE, {cap})"),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// prctl(PR_SET_KEEPCAPS): keep the permitted set across a change from uid 0 to another uid.
pub fn set_keep_capabilities(keep: bool) -> SysResult<()> {
    nix::sys::prctl::set_keepcaps(keep)
        .map_err(failed_with(|| format!("prctl(PR_SET_KEEPCAPS, {keep})")))
}

/// Cancel a parent-death signal asked for earlier: the process outlives the one that made it.
pub fn clear_parent_death_signal() -> SysResult<()> {
    nix::sys::prctl::set_pdeathsig(None).map_err(failed("prctl(PR_SET_PDEATHSIG, 0)"))
}

/// seccomp(SECCOMP_SET_MODE_FILTER) of `program`, without setting no_new_privs first (which
/// seccompiler's `apply_filter` does): for a caller holding CAP_SYS_ADMIN in its user
/// namespace whose execs must keep setuid working (OCI `noNewPrivileges: false`).
pub fn install_seccomp_keeping_privileges(program: &[seccompiler::sock_filter]) -> SysResult<()> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const seccompiler::sock_filter,
    }
    let prog = SockFprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr(),
    };
    // SAFETY: `prog` is a struct sock_fprog pointing at `program`, a slice of classic BPF
    // instructions laid out as struct sock_filter; both live across the call, which copies them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const SockFprog,
        )
    };
    if ret == -1 {
        return Err(SysError {
            call: "seccomp(SECCOMP_SET_MODE_FILTER)".into(),
            errno: Errno::last(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_capability_is_the_kernels() {
        let from_proc: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(last_capability(), from_proc);
    }

    #[test]
    fn thread_count_is_field_20_after_the_name() {
        let stat = "5410 (a) b) c) R 5406 5406 11449 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 7 0 236189";
        assert_eq!(threads_from_stat(stat), Some(7));
        assert_eq!(threads_from_stat("5410 (cat) R 1 2"), None);
        // The test harness runs this test on a thread of its own.
        assert!(thread_count().is_some_and(|n| n >= 2));
    }

    const SMAPS: &str = "\
5600a0000000-5600a0083000 r--p 00000000 fd:01 1234 /usr/bin/hutch
Rss:                 320 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd mr mw me
5600a0083000-5600a0315000 r-xp 00083000 fd:01 1234 /usr/bin/hutch
Rss:                1340 kB
Private_Dirty:       512 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me
5600a0315000-5600a0322000 r--p 00315000 fd:01 1234 /usr/bin/hutch
Rss:                  52 kB
Anonymous:            52 kB
Swap:                  0 kB
5600a0322000-5600a0324000 rw-p 00322000 fd:01 1234 /usr/bin/hutch
Anonymous:             8 kB
Swap:                  0 kB
5600a0400000-5600a0410000 r--p 00400000 fd:01 1234 /usr/bin/hutch
Anonymous:             0 kB
Swap:                  4 kB
5600a1000000-5600a1042000 rw-p 00000000 00:00 0 [heap]
Anonymous:           152 kB
Swap:                  0 kB
7f0000000000-7f0000156000 r-xp 00028000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
Swap:                  0 kB
";

    #[test]
    fn only_unmodified_read_only_mappings_of_the_executable() {
        assert_eq!(
            unmodified_executable_ranges(SMAPS, 0x5600a0100000),
            vec![
                0x5600a0000000..0x5600a0083000,
                0x5600a0083000..0x5600a0315000
            ]
        );
    }

    #[test]
    fn nothing_when_the_address_is_not_in_a_file() {
        assert!(unmodified_executable_ranges(SMAPS, 0x5600a1000010).is_empty());
        assert!(unmodified_executable_ranges(SMAPS, 0x10).is_empty());
        assert!(unmodified_executable_ranges("", 0x5600a0100000).is_empty());
    }

    #[test]
    fn our_own_text_is_found_and_released() {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let ranges = unmodified_executable_ranges(&smaps, own_code());
        assert!(ranges.iter().any(|r| r.contains(&own_code())));
    }
}

/// `CLONE_INTO_CGROUP` (Linux 5.7): clone3(2) starts the child in the cgroup `clone_args.cgroup`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// [`clone_into_namespaces`] with clone3(2)'s `CLONE_INTO_CGROUP`: the child is born in the
/// cgroup whose directory `cgroup` is, so nothing of it ever runs outside its limits and no
/// migration is paid for. ENOSYS or E2BIG: a kernel before 5.7 (the caller falls back).
///
/// # Safety
///
/// As for [`clone_into_namespaces`]: the calling process must be single-threaded.
pub unsafe fn clone_into_cgroup(
    flags: nix::sched::CloneFlags,
    cgroup: BorrowedFd<'_>,
) -> SysResult<Option<Pid>> {
    debug_assert_single_threaded("clone3");
    let args = CloneArgs {
        flags: flags.bits() as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: with no stack given, clone3(2) behaves like fork(2): the child continues on a
    // copy of the parent's address space. `args` lives across the call and its size is passed;
    // it holds no pointers. The caller guarantees that the process is single-threaded.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(SysError {
            call: "clone3(new namespaces, CLONE_INTO_CGROUP)".into(),
            errno: Errno::last(),
        }),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as libc::pid_t))),
    }
}
