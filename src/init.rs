//! hutch's init: PID 1 of the sandbox's pid namespace (pid_namespaces(7)).
//!
//! PID 1 has two duties nobody else does: it adopts and must reap every orphan, and the kernel
//! only delivers signals to it for which it installed handlers. So init starts the payload as
//! PID 2, forwards the launcher's signals to it, reaps everything, and exits with the payload's
//! status as soon as the payload ends — which makes the kernel kill whatever else is left in the
//! namespace.

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::channel::{ExitWriter, ReportWriter};
use crate::spec::{env_lookup, SandboxSpec};
use crate::sys::{self, Errno};

/// The exit status a shell would show for `status`.
pub fn exit_status(status: WaitStatus) -> Option<u8> {
    match status {
        WaitStatus::Exited(_, code) => Some(code as u8),
        WaitStatus::Signaled(_, signal, _) => Some(128u8.wrapping_add(signal as u8)),
        _ => None,
    }
}

/// Run as PID 1: start the payload, then forward and reap until it ends. `signals` is the set
/// the launcher blocked before cloning us, SIGCHLD included; it is still blocked here.
pub fn run(spec: &SandboxSpec, report: ReportWriter, exit: ExitWriter, signals: &SigSet) -> ! {
    if spec.argv.is_empty() {
        drop(exit);
        if let Some(program) = &spec.init_program {
            // The image's own init becomes PID 1: it reaps and handles signals itself.
            let init = SandboxSpec {
                argv: vec![program.clone()],
                ..spec.clone()
            };
            exec_payload(&init, report)
        }
        drop(report);
        idle(signals)
    }
    // Descriptors the user's shell passed to hutch above stderr stay private to hutch.
    if let Err(err) = sys::cloexec_from(3) {
        report.failed(
            125,
            &format!("cannot close inherited file descriptors: {err}"),
        );
        sys::exit_immediately(125);
    }
    let payload = match spawn_search(&spec.argv, &spec.env) {
        Ok(pid) => pid,
        Err(errno) => {
            let (status, message) = not_started(spec, errno);
            report.failed(status, &message);
            sys::exit_immediately(status as i32);
        }
    };
    // Our copy of the report pipe must close, or the launcher would wait for it forever.
    drop(report);
    let mut shed = false;
    loop {
        let received = if shed {
            sys::wait_for_signal(signals).map(Some)
        } else {
            sys::wait_for_signal_until(signals, crate::sandbox::SHED_AFTER)
        };
        let received = match received {
            Ok(Some(received)) => received,
            Ok(None) => {
                crate::env::supervisor::shed_start_up_memory();
                shed = true;
                continue;
            }
            Err(_) => sys::exit_immediately(125),
        };
        if received.signal == Signal::SIGCHLD as i32 {
            if let Some(status) = reap_all(payload) {
                // The launcher may answer its caller now; tearing down the namespaces, which
                // happens as PID 1 exits, is no longer anybody's wait.
                exit.send(status);
                sys::exit_immediately(status as i32);
            }
        } else if !received.from_terminal_or_kernel() {
            // The terminal already signals the payload's process group itself; forwarding too
            // would deliver Ctrl-C twice.
            let _ = sys::kill(payload, received.signal);
        }
    }
}

/// PID 1 of a persistent environment: no payload of its own; commands join through `hutch
/// exec`, and their orphans are reaped here. SIGTERM (`hutch stop`) ends it; so do SIGHUP and
/// SIGINT from the kernel, which is how reboot(2) and poweroff inside a pid namespace reach its
/// init (the kernel then reports init as killed by that signal, and the supervisor restarts or
/// stops the environment accordingly).
fn idle(signals: &SigSet) -> ! {
    // Whatever the supervisor had open (its lock, its pipe to `hutch start`) is not init's.
    sys::close_from(3);
    crate::env::supervisor::shed_start_up_memory();
    loop {
        let Ok(received) = sys::wait_for_signal(signals) else {
            sys::exit_immediately(125)
        };
        match Signal::try_from(received.signal) {
            Ok(Signal::SIGCHLD) => {
                while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    if status == WaitStatus::StillAlive {
                        break;
                    }
                }
            }
            Ok(Signal::SIGTERM) => sys::exit_immediately(0),
            Ok(Signal::SIGHUP | Signal::SIGINT) if received.from_terminal_or_kernel() => {
                sys::exit_immediately(0)
            }
            _ => {}
        }
    }
}

/// Reap every child that has exited; the payload's status if it was among them.
fn reap_all(payload: Pid) -> Option<u8> {
    let mut payload_status = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return payload_status,
            Ok(status) => {
                if status.pid() == Some(payload) {
                    payload_status = exit_status(status).or(payload_status);
                }
            }
        }
    }
}

/// In PID 2: restore the signal mask, close what is not ours to pass, and exec the command.
pub(crate) fn exec_payload(spec: &SandboxSpec, report: ReportWriter) -> ! {
    let _ = sys::unblock_all_signals();
    // hutch ignores SIGPIPE (see `crate::output`), and an ignored signal survives execve:
    // without this, `yes | head -1` inside would complain of a broken pipe instead of ending
    // quietly.
    let _ = sys::default_disposition(Signal::SIGPIPE);
    // Descriptors the user's shell passed to hutch above stderr stay private to hutch.
    if let Err(err) = sys::cloexec_from(3) {
        report.failed(
            125,
            &format!("cannot close inherited file descriptors: {err}"),
        );
        sys::exit_immediately(125);
    }
    let errno = exec_search(&spec.argv, &spec.env);
    let (status, message) = not_started(spec, errno);
    report.failed(status, &message);
    sys::exit_immediately(status as i32);
}

/// The status and message for a command that could not be started, shell style.
fn not_started(spec: &SandboxSpec, errno: Errno) -> (u8, String) {
    let program = spec.argv[0].to_string_lossy();
    match errno {
        // A name with a slash is not looked up in PATH (execvp(3)): the path itself is missing.
        Errno::ENOENT | Errno::ENOTDIR if program.contains('/') => (
            127,
            format!(
                "command not found: {program} (no such file inside the sandbox)\nhint: the path \
                 is looked up inside, where the files are those the profile mounts (or the \
                 image's); `hutch run --explain` lists a run's mounts"
            ),
        ),
        Errno::ENOENT | Errno::ENOTDIR => (
            127,
            format!(
                "command not found: {program} (searched PATH={} inside the sandbox)\nhint: is it installed on the host \
                 and visible in the sandbox? A path like ./{program} runs a file from the working directory",
                String::from_utf8_lossy(search_path(&spec.env).as_bytes())
            ),
        ),
        errno => (126, format!("cannot execute {program}: {errno}")),
    }
}

const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn search_path(env: &[CString]) -> &OsStr {
    env_lookup(env, "PATH").unwrap_or(OsStr::new(DEFAULT_PATH))
}

/// The paths execvp(3) tries for `program`: the program itself when it names a path, else the
/// program in each directory of the sandbox's own PATH (glibc's execvpe would search the
/// caller's PATH instead).
pub(crate) fn candidates<'a>(
    program: &'a CStr,
    env: &'a [CString],
) -> impl Iterator<Item = CString> + 'a {
    let name = program.to_bytes();
    let (own, search) = if name.contains(&b'/') {
        (Some(program.to_owned()), None)
    } else if name.is_empty() {
        (None, None)
    } else {
        (
            None,
            Some(search_path(env).as_bytes().split(|&b| b == b':')),
        )
    };
    own.into_iter()
        .chain(search.into_iter().flatten().filter_map(move |dir| {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let mut candidate = Vec::with_capacity(dir.len() + name.len() + 2);
            candidate.extend_from_slice(dir);
            candidate.push(b'/');
            candidate.extend_from_slice(name);
            CString::new(candidate).ok()
        }))
}

/// execvp(3) with the sandbox's own PATH. Returns only on failure: EACCES if some candidate
/// existed but could not be run, else the last error.
pub(crate) fn exec_search(argv: &[CString], env: &[CString]) -> Errno {
    let mut saw_eacces = false;
    let mut last = Errno::ENOENT;
    for candidate in candidates(&argv[0], env) {
        match sys::execve(&candidate, argv, env) {
            Errno::EACCES => saw_eacces = true,
            Errno::ENOENT | Errno::ENOTDIR => {}
            errno => last = errno,
        }
    }
    if saw_eacces {
        Errno::EACCES
    } else {
        last
    }
}

/// [`exec_search`] for a spawned payload (see [`sys::spawn`]). A candidate the kernel would
/// refuse is skipped with access(2) first, which costs far less than a spawn that fails; an
/// EACCES from the spawn itself (Landlock, a `noexec` mount, which access(2) does not see)
/// moves on to the next, as execvp(3) does.
fn spawn_search(argv: &[CString], env: &[CString]) -> Result<Pid, Errno> {
    let mut saw_eacces = false;
    for candidate in candidates(&argv[0], env) {
        let spawned = sys::executable(&candidate).and_then(|()| sys::spawn(&candidate, argv, env));
        match spawned {
            Ok(pid) => return Ok(pid),
            Err(Errno::EACCES) => saw_eacces = true,
            Err(Errno::ENOENT | Errno::ENOTDIR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Err(if saw_eacces {
        Errno::EACCES
    } else {
        Errno::ENOENT
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_shell_convention() {
        let pid = Pid::from_raw(2);
        assert_eq!(exit_status(WaitStatus::Exited(pid, 7)), Some(7));
        assert_eq!(
            exit_status(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(exit_status(WaitStatus::StillAlive), None);
    }

    #[test]
    fn candidates_follow_execvp() {
        let env = [CString::new("PATH=/a::/b").unwrap()];
        let tried = |program: &str| -> Vec<String> {
            candidates(&CString::new(program).unwrap(), &env)
                .map(|c| c.into_string().unwrap())
                .collect()
        };
        assert_eq!(tried("ls"), ["/a/ls", "./ls", "/b/ls"]);
        assert_eq!(tried("./run.sh"), ["./run.sh"]);
        assert_eq!(tried("/bin/ls"), ["/bin/ls"]);
        assert!(tried("").is_empty());
    }

    #[test]
    fn search_path_defaults_when_unset() {
        assert_eq!(search_path(&[]), OsStr::new(DEFAULT_PATH));
        let env = [CString::new("PATH=/x").unwrap()];
        assert_eq!(search_path(&env), OsStr::new("/x"));
    }
}
