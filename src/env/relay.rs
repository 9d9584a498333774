//! The standard input and output of `hutch exec` and `hutch enter`: what the command inside
//! gets on descriptors 0-2, and the relay hutch runs outside.
//!
//! The command never gets a descriptor of the caller's own: a process it starts could keep one
//! after `hutch exec` returns — with the caller's terminal it would read every line typed into
//! the host shell afterwards. So, as podman, machinectl and lxc-attach do:
//! - with a terminal, the command gets a pseudoterminal allocated in the environment's own
//!   devpts (pts(4)) as its controlling terminal, and hutch copies bytes between its master and
//!   the caller's terminal, which it puts in raw mode for the time (the pty inside does the line
//!   editing and signals, as the caller's terminal would) and whose window size it passes on;
//! - without one, pipes: hutch copies the caller's stdin into one, and the command's stdout and
//!   stderr out of others, with splice(2) where the kernel can, so no byte crosses user space.
//!
//! The relay ends when the command does: what it wrote before it exited is passed on, and what
//! processes it left behind write later is not (as with `docker exec`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::sys::{self, SysError, SysResult};

/// What the caller asked for (`hutch exec -t/-i`; `hutch enter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `-t`: a pty even when the caller has no terminal.
    pub tty: bool,
    /// `-i`: relay stdin even when it is a terminal and the command gets no pty.
    pub interactive: bool,
    /// `hutch enter`: a login shell, which gets a pty whenever the caller has a terminal.
    pub login: bool,
}

/// What the caller's descriptors 0-2 are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// stdout and stderr are the same file (`2>&1`): one pipe keeps their order.
    pub stderr_is_stdout: bool,
}

impl Caller {
    pub fn current() -> Caller {
        let is_tty = |fd| nix::unistd::isatty(fd).unwrap_or(false);
        let identity = |fd| {
            rustix::fs::fstat(sys::standard_fd(fd))
                .ok()
                .map(|s| (s.st_dev, s.st_ino))
        };
        Caller {
            stdin_tty: is_tty(0),
            stdout_tty: is_tty(1),
            stderr_tty: is_tty(2),
            stderr_is_stdout: identity(1).is_some() && identity(1) == identity(2),
        }
    }
}

/// How the command's descriptors 0-2 are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// A pty inside the environment, the command's controlling terminal, on stdin and stdout.
    pub pty: bool,
    /// The caller's stdin is copied to the command; otherwise it reads end of file.
    pub relay_stdin: bool,
    /// stderr on the pty too (the caller's stderr is a terminal); otherwise a pipe.
    pub stderr_on_pty: bool,
    /// Without a pty: one pipe for stdout and stderr.
    pub stderr_shares_stdout: bool,
}

/// The rules `hutch exec --help` documents.
pub fn plan(options: Options, caller: Caller) -> Plan {
    // `exec` takes a pty only when both ends are a terminal: `hutch exec ENV -- ls > file` from
    // an interactive shell must not get a pty's \r\n in the file. A login shell is interactive.
    let pty = options.tty
        || if options.login {
            caller.stdin_tty || caller.stdout_tty
        } else {
            caller.stdin_tty && caller.stdout_tty
        };
    // A terminal on stdin is read only for a pty or with -i: otherwise hutch would take the
    // keystrokes meant for the next command of a pipeline (`hutch exec ENV -- make | less`).
    let relay_stdin = options.interactive || !caller.stdin_tty || pty;
    Plan {
        pty,
        relay_stdin,
        stderr_on_pty: pty && caller.stderr_tty,
        stderr_shares_stdout: !pty && caller.stderr_is_stdout,
    }
}

/// The command's descriptors 0-2, to be installed in the forked child.
pub struct ChildStdio {
    fds: [OwnedFd; 3],
    controlling_terminal: bool,
}

impl ChildStdio {
    /// In the child, first thing after fork: put its own descriptors on 0-2 (replacing the
    /// caller's), close every other descriptor but `keep`, and leave the caller's session
    /// (setsid(2)), so that /dev/tty no longer names the caller's terminal either; with a pty,
    /// make it the controlling terminal.
    pub fn install(self, keep: BorrowedFd<'_>) -> SysResult<()> {
        let raw = self.fds.map(IntoRawFd::into_raw_fd);
        for (target, fd) in raw.iter().enumerate() {
            sys::duplicate_onto(*fd, target as libc::c_int)?;
        }
        sys::close_from_except(3, keep);
        sys::setsid()?;
        if self.controlling_terminal {
            sys::set_controlling_terminal(sys::standard_fd(0))?;
        }
        Ok(())
    }
}

/// Allocate the pty or pipes for `plan`. With a pty this must run in the environment's mount
/// namespace: the pty is one of its devpts instance.
pub fn prepare(plan: Plan) -> Result<(ChildStdio, Relay), RelayError> {
    let mut flows = Vec::new();
    let mut terminal = None;
    let mut master = None;
    let (stdin, stdout, stderr);
    if plan.pty {
        let pty = Rc::new(sys::open_pty_master().map_err(RelayError::Pty)?);
        let slave = sys::open_pty_slave(pty.as_fd()).map_err(RelayError::Pty)?;
        // The caller's terminal: stdin's, or stdout's when only that is one (`-t` without any
        // gives the pty's default size).
        let caller_terminal = [0, 1]
            .into_iter()
            .map(sys::standard_fd)
            .find(|fd| nix::unistd::isatty(fd.as_raw_fd()).unwrap_or(false));
        if let Some(fd) = caller_terminal {
            // Before the command starts, so that it sees the right size at once.
            if let Ok(size) = sys::window_size(fd) {
                sys::set_window_size(pty.as_fd(), &size).map_err(RelayError::Pty)?;
            }
            terminal = Some(RawMode::enter(fd).map_err(RelayError::Terminal)?);
        }
        if plan.relay_stdin {
            flows.push(Flow::new(
                End::Standard(0),
                End::Shared(pty.clone()),
                AtEnd::SendEndOfFile,
            ));
        }
        flows.push(Flow::new(
            End::Shared(pty.clone()),
            End::Standard(1),
            AtEnd::Nothing,
        ));
        stdin = dup(&slave)?;
        stdout = dup(&slave)?;
        stderr = if plan.stderr_on_pty {
            slave
        } else {
            let (read, write) = pipe()?;
            flows.push(Flow::new(End::Own(read), End::Standard(2), AtEnd::Nothing));
            write
        };
        master = Some(pty);
    } else {
        let (read, write) = pipe()?;
        if plan.relay_stdin {
            flows.push(Flow::new(End::Standard(0), End::Own(write), AtEnd::Nothing));
        }
        // Not relayed: the write end closes here, and the command reads end of file.
        stdin = read;
        let (read, write) = pipe()?;
        flows.push(Flow::new(End::Own(read), End::Standard(1), AtEnd::Nothing));
        if plan.stderr_shares_stdout {
            stderr = dup(&write)?;
        } else {
            let (read, write) = pipe()?;
            flows.push(Flow::new(End::Own(read), End::Standard(2), AtEnd::Nothing));
            stderr = write;
        }
        stdout = write;
    }
    Ok((
        ChildStdio {
            fds: [stdin, stdout, stderr],
            controlling_terminal: plan.pty,
        },
        Relay {
            flows,
            master,
            terminal,
        },
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot allocate a terminal inside the environment")]
    Pty(#[source] SysError),
    #[error("cannot put the terminal in raw mode")]
    Terminal(#[source] SysError),
    #[error("cannot create a pipe for the command's input or output")]
    Pipe(#[source] SysError),
    #[error("cannot relay the command's input and output")]
    Copy(#[source] SysError),
}

impl RelayError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RelayError::Pty(_) => Some(
                "the environment needs its own devpts at /dev/pts; without a terminal (e.g. \
                 `hutch exec ENV -- CMD < /dev/null | cat`) hutch uses pipes instead"
                    .into(),
            ),
            _ => None,
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), RelayError> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|errno| {
        RelayError::Pipe(SysError {
            call: "pipe2(O_CLOEXEC)".into(),
            errno,
        })
    })?;
    // A bigger pipe means fewer wake-ups per byte (F_SETPIPE_SZ, pipe(7)); the default size is
    // kept where the per-user limit refuses.
    for end in [&read, &write] {
        let _ = nix::fcntl::fcntl(end.as_raw_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    }
    Ok((read, write))
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, RelayError> {
    fd.try_clone()
        .map_err(|e| RelayError::Pipe(SysError::io("fcntl(F_DUPFD_CLOEXEC)", &e)))
}

/// The caller's terminal in raw mode (termios(3) cfmakeraw) until this is dropped: keystrokes
/// go unchanged to the pty inside, whose own line discipline echoes, edits and raises signals.
struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    fn enter(fd: BorrowedFd<'static>) -> SysResult<RawMode> {
        let failed = |call: &str| {
            let call = call.to_owned();
            move |errno| SysError { call, errno }
        };
        let saved = termios::tcgetattr(fd).map_err(failed("tcgetattr"))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSADRAIN, &raw).map_err(failed("tcsetattr(raw)"))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved);
    }
}

/// One end of a flow: the caller's descriptor 0-2, a pipe end of hutch's, or the pty master.
enum End {
    Standard(i32),
    Own(OwnedFd),
    Shared(Rc<OwnedFd>),
}

impl End {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            End::Standard(n) => sys::standard_fd(*n),
            End::Own(fd) => fd.as_fd(),
            End::Shared(fd) => fd.as_fd(),
        }
    }

    /// hutch's own ends are non-blocking (a full pipe must not stop the other directions); the
    /// caller's are left as they are, since their open file is shared with the caller's shell.
    fn is_own(&self) -> bool {
        !matches!(self, End::Standard(_))
    }
}

/// What to do when the source of a flow ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AtEnd {
    Nothing,
    /// stdin into a pty: a pty cannot be half-closed, so the relay types the end-of-file
    /// character (^D), as a person would.
    SendEndOfFile,
}

/// The result of one step of a flow.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// This many bytes went through.
    Moved(usize),
    /// Nothing to read now.
    Idle,
    /// The destination is full: wait until it can take more.
    Blocked,
    Ended,
}

/// Bytes from one descriptor to another.
struct Flow {
    from: End,
    to: End,
    at_end: AtEnd,
    /// splice(2) until the kernel says it cannot join these two (EINVAL); then read and write.
    splice: bool,
    buffer: Vec<u8>,
    pending: std::ops::Range<usize>,
    waiting_for_destination: bool,
}

/// What one splice or read moves at most.
const CHUNK: usize = 1 << 20;
/// How many chunks one flow moves in a row before the relay polls again.
const GREEDY_STEPS: usize = 32;
/// The buffer for flows splice cannot serve (terminals).
const BUFFER: usize = 64 << 10;

impl Flow {
    fn new(from: End, to: End, at_end: AtEnd) -> Flow {
        for end in [&from, &to] {
            if end.is_own() {
                let _ = set_nonblocking(end.fd());
            }
        }
        Flow {
            from,
            to,
            at_end,
            splice: true,
            buffer: Vec::new(),
            pending: 0..0,
            waiting_for_destination: false,
        }
    }

    fn is_output(&self) -> bool {
        !matches!(self.from, End::Standard(_))
    }

    fn poll_fd(&self) -> PollFd<'_> {
        if self.waiting_for_destination {
            PollFd::new(self.to.fd(), PollFlags::POLLOUT)
        } else {
            PollFd::new(self.from.fd(), PollFlags::POLLIN)
        }
    }

    fn step(&mut self) -> Result<Step, Errno> {
        if !self.pending.is_empty() {
            return self.write_pending();
        }
        if self.splice {
            match sys::splice(self.from.fd(), self.to.fd(), CHUNK) {
                Ok(0) => return Ok(Step::Ended),
                Ok(n) => return Ok(Step::Moved(n)),
                // EAGAIN: the source pipe is empty or the destination pipe full (between two
                // pipes, one non-blocking end makes both so); waiting for the destination once
                // and then for the source again settles which, without spinning.
                Err(Errno::EAGAIN) => return Ok(Step::Blocked),
                Err(Errno::EINTR) => return Ok(Step::Idle),
                Err(Errno::EINVAL) => self.splice = false,
                Err(errno) => return end_or_fail(errno),
            }
        }
        if self.buffer.is_empty() {
            self.buffer = vec![0; BUFFER];
        }
        match nix::unistd::read(self.from.fd().as_raw_fd(), &mut self.buffer) {
            Ok(0) => Ok(Step::Ended),
            Ok(n) => {
                self.pending = 0..n;
                self.write_pending()
            }
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(Step::Idle),
            Err(errno) => end_or_fail(errno),
        }
    }

    fn write_pending(&mut self) -> Result<Step, Errno> {
        let moved = self.pending.len();
        while !self.pending.is_empty() {
            match nix::unistd::write(self.to.fd(), &self.buffer[self.pending.clone()]) {
                Ok(n) => self.pending.start += n,
                Err(Errno::EAGAIN) => return Ok(Step::Blocked),
                Err(Errno::EINTR) => {}
                Err(errno) => return end_or_fail(errno),
            }
        }
        Ok(Step::Moved(moved))
    }

    fn finish(self) {
        if self.at_end == AtEnd::SendEndOfFile {
            let _ = nix::unistd::write(self.to.fd(), b"\x04");
        }
    }
}

/// A pty master reads EIO once no slave is open; a reader or writer that went away is EPIPE
/// or ECONNRESET: the flow is over, not the relay.
fn end_or_fail(errno: Errno) -> Result<Step, Errno> {
    match errno {
        Errno::EIO | Errno::EPIPE | Errno::ECONNRESET => Ok(Step::Ended),
        errno => Err(errno),
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// hutch's side: copies between the caller and the command until the command ends.
pub struct Relay {
    flows: Vec<Flow>,
    master: Option<Rc<OwnedFd>>,
    terminal: Option<RawMode>,
}

/// How much the final drain moves per flow at most: a process left behind that keeps writing
/// does not keep hutch. What the command wrote before it ended fills at most a pipe (1 MiB).
const DRAIN_LIMIT: usize = 8 << 20;

impl Relay {
    /// Copy until `child` ends; its exit status, shell style. `signals` are blocked (taken
    /// before the fork): SIGCHLD ends the relay, SIGWINCH resizes the pty, the others go to the
    /// command's process group — the command has a session of its own, so the caller's
    /// terminal no longer signals it.
    pub fn run(mut self, child: Pid, signals: &SigSet) -> Result<u8, RelayError> {
        let copy_error = |call: &str| {
            let call = call.to_owned();
            move |errno| RelayError::Copy(SysError { call, errno })
        };
        let signal_fd =
            SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
                .map_err(copy_error("signalfd"))?;
        let status = loop {
            let ready: Vec<PollFlags> = {
                let mut fds = vec![PollFd::new(signal_fd.as_fd(), PollFlags::POLLIN)];
                fds.extend(self.flows.iter().map(Flow::poll_fd));
                match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => return Err(copy_error("poll")(errno)),
                }
                fds.iter()
                    .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                    .collect()
            };
            if let Some(status) = self.take_signals(&signal_fd, child)? {
                break status;
            }
            let mut index = self.flows.len();
            while index > 0 {
                index -= 1;
                if ready[index + 1].is_empty() {
                    continue;
                }
                let flow = &mut self.flows[index];
                if flow.waiting_for_destination {
                    // It can take more now; the next round waits for the source again.
                    flow.waiting_for_destination = false;
                    continue;
                }
                // Keep moving while it flows: a poll per chunk would cost more than the chunk
                // (a pty hands out a few KiB at a time, a caller's pipe takes 64 KiB). Only
                // from hutch's own, non-blocking ends: a second read of the caller's terminal
                // would wait for the next keystroke.
                let steps = if flow.from.is_own() { GREEDY_STEPS } else { 1 };
                for _ in 0..steps {
                    match flow.step().map_err(copy_error("relay"))? {
                        Step::Moved(_) => continue,
                        Step::Idle => {}
                        Step::Blocked => flow.waiting_for_destination = true,
                        Step::Ended => {
                            self.flows.swap_remove(index).finish();
                        }
                    }
                    break;
                }
            }
        };
        self.drain();
        Ok(status)
    }

    /// Handle the signals that arrived; the command's exit status once it has ended.
    fn take_signals(&self, signal_fd: &SignalFd, child: Pid) -> Result<Option<u8>, RelayError> {
        let mut status = None;
        while let Ok(Some(info)) = signal_fd.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => {
                    let waited = waitpid(child, Some(WaitPidFlag::WNOHANG)).map_err(|errno| {
                        RelayError::Copy(SysError {
                            call: format!("waitpid({child})"),
                            errno,
                        })
                    })?;
                    status = crate::init::exit_status(waited).or(status);
                }
                Ok(Signal::SIGWINCH) => self.copy_window_size(),
                Ok(Signal::SIGIO) | Err(_) => {}
                Ok(signal) => {
                    if nix::sys::signal::killpg(child, signal).is_err() {
                        let _ = sys::kill(child, signal as i32);
                    }
                }
            }
        }
        Ok(status)
    }

    fn copy_window_size(&self) {
        if let (Some(master), Some(terminal)) = (&self.master, &self.terminal) {
            if let Ok(size) = sys::window_size(terminal.fd) {
                let _ = sys::set_window_size(master.as_fd(), &size);
            }
        }
    }

    /// Pass on what the command wrote before it ended: until each source has nothing more to
    /// read now, waiting for the caller's side to take it (as `cat` would).
    fn drain(&mut self) {
        for flow in self.flows.iter_mut().filter(|f| f.is_output()) {
            let mut moved = 0;
            while moved < DRAIN_LIMIT {
                if flow.pending.is_empty() && !ready(flow.from.fd(), PollFlags::POLLIN, 0) {
                    break;
                }
                match flow.step() {
                    Ok(Step::Moved(n)) => moved += n,
                    Ok(Step::Blocked) => {
                        if !ready(flow.to.fd(), PollFlags::POLLOUT, -1) {
                            break;
                        }
                    }
                    Ok(Step::Idle) => {}
                    Ok(Step::Ended) | Err(_) => break,
                }
            }
        }
    }
}

/// Whether `fd` is ready for `events` within `milliseconds` (-1: however long it takes).
fn ready(fd: BorrowedFd<'_>, events: PollFlags, milliseconds: i32) -> bool {
    let timeout = PollTimeout::try_from(milliseconds).unwrap_or(PollTimeout::NONE);
    let mut fds = [PollFd::new(fd, events)];
    matches!(nix::poll::poll(&mut fds, timeout), Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(stdin_tty: bool, stdout_tty: bool) -> Caller {
        Caller {
            stdin_tty,
            stdout_tty,
            stderr_tty: stdout_tty,
            stderr_is_stdout: false,
        }
    }

    #[test]
    fn exec_takes_a_pty_only_between_terminals() {
        let exec = Options::default();
        assert!(plan(exec, caller(true, true)).pty);
        assert!(
            !plan(exec, caller(true, false)).pty,
            "`> file` gets no \\r\\n"
        );
        assert!(!plan(exec, caller(false, true)).pty);
        let forced = Options { tty: true, ..exec };
        assert!(plan(forced, caller(false, false)).pty);
    }

    #[test]
    fn enter_takes_a_pty_whenever_there_is_a_terminal() {
        let enter = Options {
            login: true,
            ..Options::default()
        };
        assert!(plan(enter, caller(true, false)).pty);
        assert!(plan(enter, caller(false, true)).pty);
        assert!(!plan(enter, caller(false, false)).pty);
    }

    #[test]
    fn a_terminal_on_stdin_is_read_only_for_a_pty_or_with_interactive() {
        let exec = Options::default();
        assert!(!plan(exec, caller(true, false)).relay_stdin);
        let interactive = Options {
            interactive: true,
            ..exec
        };
        assert!(plan(interactive, caller(true, false)).relay_stdin);
        assert!(
            plan(exec, caller(false, false)).relay_stdin,
            "pipes and files"
        );
        assert!(plan(exec, caller(true, true)).relay_stdin);
    }

    #[test]
    fn stderr_keeps_its_own_destination() {
        let exec = Options::default();
        let mut both = caller(true, true);
        both.stderr_tty = false;
        let p = plan(exec, both);
        assert!(p.pty && !p.stderr_on_pty, "2> file stays out of the pty");
        let mut merged = caller(false, false);
        merged.stderr_is_stdout = true;
        assert!(plan(exec, merged).stderr_shares_stdout);
    }
}
