//! Doing file work as root of a user namespace that maps the user's subordinate ids
//! (user_namespaces(7)): extracting an image so that its files keep their owners, and removing
//! such files again, which the user cannot do from outside (a directory owned by subordinate uid
//! 100000 with mode 0755 refuses the user's unlink(2)).
//!
//! [`run`] clones a child into a new user and mount namespace. With ranges ([`IdPlan::Ranges`])
//! the *parent* maps it with newuidmap/newgidmap — the helpers check the parent's credentials
//! against /etc/subuid, and a process cannot map itself beyond its own id — then says "go" over a
//! pipe; with one id the child writes its own map. The child, now uid 0 with every capability
//! over the mapped ids, runs the work and sends back its result (JSON over a pipe) or its error
//! already rendered, and exits without unwinding into the parent's frames.
//!
//! Signals: `SIGINT`, `SIGTERM` and `SIGHUP` are blocked in the parent from the first call on and
//! stay blocked, so that an interrupted caller can still clean up; [`UsernsError::Interrupted`]
//! says one arrived. An interruptible child takes them with their default action (Ctrl-C reaches
//! it through the terminal's process group; a signal sent to hutch alone is turned into SIGKILL
//! of the child). A non-interruptible one (clean-up) keeps them blocked and finishes. If hutch is
//! killed, the child gets SIGKILL (parent-death signal).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::idmap::{self, HelperError, IdMapping};
use crate::subid::IdPlan;
use crate::sys::{self, SysError};

/// Room for a rendered error; the pipe buffer (64 KiB) must hold the whole answer, because the
/// parent reads it only after the child has exited.
const MAX_ANSWER: usize = 48 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("cannot prepare a helper process")]
    Prepare(#[source] SysError),
    #[error("cannot create a user namespace")]
    Clone(#[source] SysError),
    #[error("cannot map subordinate ids into the user namespace")]
    Map(#[source] HelperError),
    #[error("lost track of the helper process")]
    Wait(#[source] SysError),
    #[error("interrupted by {0}")]
    Interrupted(Signal),
    /// The work failed; the message is rendered inside, hint included.
    #[error("{0}")]
    Inside(String),
    #[error("the helper process in the user namespace ended without an answer ({0})")]
    NoAnswer(String),
}

impl UsernsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            UsernsError::Clone(e)
                if matches!(
                    e.errno,
                    sys::Errno::EPERM | sys::Errno::ENOSPC | sys::Errno::EACCES
                ) =>
            {
                Some(crate::diagnose::userns_hint(Path::new("/proc/sys")))
            }
            UsernsError::Map(e) => e.hint(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruptible {
    /// Ctrl-C and termination signals end the work.
    Yes,
    /// The work finishes anyway (clean-up after an interruption).
    No,
}

/// What the child sends back.
#[derive(serde::Serialize, serde::Deserialize)]
enum Answer<T> {
    Done(T),
    Failed(String),
}

/// Run `work` as root of a new user namespace mapped by `plan`, and return its result.
///
/// The caller must be single-threaded: the child is a clone(2) with fork semantics and runs
/// ordinary Rust code. `work` returns its error rendered (see [`crate::error::render`]).
pub fn run<T, F>(plan: &IdPlan, interruptible: Interruptible, work: F) -> Result<T, UsernsError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Result<T, String>,
{
    let mut signals = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        signals.add(signal);
    }
    sys::block_signals(&signals).map_err(UsernsError::Prepare)?;
    sys::default_disposition(Signal::SIGCHLD).map_err(UsernsError::Prepare)?;
    let (go_read, go_write) = pipe("go")?;
    let (answer_read, answer_write) = pipe("answer")?;

    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS;
    // SAFETY: the caller is single-threaded, as this function's contract demands (image import
    // and removal in the `hutch` command, which starts no thread; see `crate::child`).
    let clone = unsafe { sys::clone_into_namespaces(flags) }.map_err(|e| {
        UsernsError::Clone(SysError {
            call: "clone(CLONE_NEWUSER | CLONE_NEWNS)".into(),
            errno: e.errno,
        })
    })?;
    let Some(child) = clone else {
        crate::child::run("the user namespace helper", || {
            drop(go_write);
            drop(answer_read);
            child_main(plan, interruptible, go_read, answer_write, work)
        })
    };
    drop(go_read);
    drop(answer_write);
    tracing::debug!(pid = child.as_raw(), "user namespace helper started");

    // Map the child from here, then let it go. On failure, dropping `go_write` tells the child
    // to give up, and it is reaped below.
    let mapped = match plan {
        IdPlan::Ranges {
            uid_map,
            gid_map,
            newuidmap,
            newgidmap,
        } => idmap::apply_with_helper(newuidmap, uid_map, child.as_raw())
            .and_then(|()| idmap::apply_with_helper(newgidmap, gid_map, child.as_raw())),
        IdPlan::Single { .. } => Ok(()),
    };
    if mapped.is_ok() {
        let _ = std::fs::File::from(go_write).write_all(b"g");
    } else {
        drop(go_write);
    }
    let (status, interrupted) = wait(child, &signals, interruptible)?;
    mapped.map_err(UsernsError::Map)?;
    match interrupted {
        Some(signal) if interruptible == Interruptible::Yes => {
            return Err(UsernsError::Interrupted(signal));
        }
        // Clean-up ran to its end; the caller is failing already.
        Some(signal) => tracing::debug!(%signal, "finished despite a signal"),
        None => {}
    }
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(answer_read).read_to_end(&mut bytes);
    match serde_json::from_slice::<Answer<T>>(&bytes) {
        Ok(Answer::Done(value)) => Ok(value),
        Ok(Answer::Failed(message)) => Err(UsernsError::Inside(message)),
        Err(_) => match status {
            WaitStatus::Signaled(_, signal, _) if is_termination(signal) => {
                Err(UsernsError::Interrupted(signal))
            }
            status => Err(UsernsError::NoAnswer(describe(status))),
        },
    }
}

fn is_termination(signal: Signal) -> bool {
    matches!(signal, Signal::SIGINT | Signal::SIGTERM | Signal::SIGHUP)
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
        other => format!("{other:?}"),
    }
}

/// Wait for the child; a termination signal sent to hutch by another process kills an
/// interruptible child. Returns its status and the first termination signal received.
fn wait(
    child: Pid,
    signals: &SigSet,
    interruptible: Interruptible,
) -> Result<(WaitStatus, Option<Signal>), UsernsError> {
    let mut interrupted = None;
    loop {
        let received = sys::wait_for_signal(signals).map_err(UsernsError::Wait)?;
        if received.signal == Signal::SIGCHLD as i32 {
            let status = waitpid(child, Some(WaitPidFlag::WNOHANG)).map_err(|errno| {
                UsernsError::Wait(SysError {
                    call: format!("waitpid({child})"),
                    errno,
                })
            })?;
            if matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
                return Ok((status, interrupted));
            }
            continue;
        }
        let signal = Signal::try_from(received.signal).unwrap_or(Signal::SIGTERM);
        interrupted.get_or_insert(signal);
        // Ctrl-C reaches the child through the terminal; a signal sent to hutch alone does not.
        if interruptible == Interruptible::Yes && !received.from_terminal_or_kernel() {
            let _ = sys::kill(child, libc::SIGKILL);
        }
    }
}

fn child_main<T, F>(
    plan: &IdPlan,
    interruptible: Interruptible,
    go: OwnedFd,
    answer: OwnedFd,
    work: F,
) -> !
where
    T: Serialize,
    F: FnOnce() -> Result<T, String>,
{
    let answer = std::fs::File::from(answer);
    let send = |mut file: &std::fs::File, reply: Answer<T>| {
        let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
        if bytes.len() > MAX_ANSWER {
            bytes = serde_json::to_vec(&Answer::<T>::Failed(
                "the helper's answer was too long to send".into(),
            ))
            .unwrap_or_default();
        }
        let _ = file.write_all(&bytes);
    };
    let outcome = (|| -> Result<T, String> {
        // Die with hutch; if it is already gone, the "go" pipe reads end-of-file below.
        sys::set_parent_death_signal(Signal::SIGKILL).map_err(|e| e.to_string())?;
        let mut byte = [0u8; 1];
        let got = std::fs::File::from(go).read(&mut byte).unwrap_or(0);
        if got == 0 {
            sys::exit_immediately(125);
        }
        if let IdPlan::Single { uid, gid } = plan {
            let mapping = IdMapping {
                host_uid: *uid,
                host_gid: *gid,
                map_root: true,
            };
            idmap::write_own_maps(&mapping, Path::new("/proc/self")).map_err(|e| {
                let hint = e.hint(Path::new("/proc/sys"));
                crate::error::render(&e, hint.as_deref())
            })?;
        }
        if interruptible == Interruptible::Yes {
            sys::unblock_all_signals().map_err(|e| e.to_string())?;
        }
        // Modes come from the archive, applied explicitly; nothing may be masked off.
        rustix::process::umask(rustix::fs::Mode::empty());
        work()
    })();
    match outcome {
        Ok(value) => send(&answer, Answer::Done(value)),
        Err(message) => send(&answer, Answer::Failed(message)),
    }
    drop(answer);
    sys::exit_immediately(0)
}

fn pipe(name: &str) -> Result<(OwnedFd, OwnedFd), UsernsError> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| {
        UsernsError::Prepare(SysError {
            call: format!("pipe2({name})"),
            errno,
        })
    })
}
