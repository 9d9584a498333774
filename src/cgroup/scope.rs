//! Running hutch again in a transient scope of the user's systemd (`systemd-run --user --scope
//! -p Delegate=yes`), where its own cgroup is not delegated.
//!
//! systemd-run asks the user manager for the scope, moves itself into it and execs hutch. hutch
//! does not exec systemd-run but waits for it as a child, forwarding signals as it does for a
//! sandbox's PID 1, because systemd-run exits 1 when it cannot have the scope, and only the
//! hutch that waits can tell that failure (hutch's own: 125) from a payload's status 1. The
//! hutch started in the scope says it got there ([`say_arrived_in_scope`]) through a pipe named
//! in [`IN_SCOPE_VAR`].

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use super::CgroupError;

/// Set in the environment of a hutch started in a scope of its own, so it never loops:
/// `FD:DEV:INODE`, the pipe on which it says it got there.
pub const IN_SCOPE_VAR: &str = "HUTCH_IN_CGROUP_SCOPE";

/// Whether a systemd user manager can be asked for a scope: systemd-run on PATH and the user
/// bus socket in `$XDG_RUNTIME_DIR`.
pub fn user_manager_reachable(env: &[(OsString, OsString)]) -> Option<PathBuf> {
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if var(IN_SCOPE_VAR).is_some() {
        return None;
    }
    let bus = var("DBUS_SESSION_BUS_ADDRESS").is_some()
        || var("XDG_RUNTIME_DIR").is_some_and(|dir| {
            Path::new(&dir).join("systemd/private").exists() || Path::new(&dir).join("bus").exists()
        });
    if !bus || !Path::new("/run/systemd/system").is_dir() {
        return None;
    }
    let path = var("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("systemd-run"))
        .find(|p| p.is_file())
}

/// `systemd-run --user --scope -p Delegate=yes … -- hutch ARGS`: this hutch again, in a
/// transient scope of its own that systemd delegates to the user (and removes, with every
/// cgroup hutch made in it, once nothing runs there). Started by [`run_in_scope`].
pub fn scope_command(
    systemd_run: &Path,
    hutch: &Path,
    args: &[OsString],
    pid: u32,
) -> std::process::Command {
    let mut command = std::process::Command::new(systemd_run);
    command
        .args(["--user", "--scope", "--quiet", "--collect"])
        .args(["--property=Delegate=yes", "--description=hutch sandbox"])
        .arg(format!("--unit=hutch-{pid}"))
        .arg("--")
        .arg(hutch)
        .args(args);
    command
}

/// Start `command` (a [`scope_command`]) and wait for it, forwarding the signals a launcher
/// forwards. The hutch it starts ends with the status this one should end with, which is
/// returned; a `command` that ends before it has started hutch is [`CgroupError::ScopeRefused`].
pub fn run_in_scope(mut command: std::process::Command) -> Result<u8, CgroupError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let io = |source: std::io::Error| CgroupError::Scope {
        program: program.clone(),
        source,
    };
    let (mut arrivals, arrival) = crate::sys::inheritable_pipe().map_err(|e| io(e.errno.into()))?;
    let (dev, inode) =
        crate::sys::file_identity(arrival.as_fd()).map_err(|e| io(e.errno.into()))?;
    command.env(
        IN_SCOPE_VAR,
        format!("{}:{dev}:{inode}", arrival.as_raw_fd()),
    );
    let signals = crate::sandbox::launcher_signals();
    crate::sandbox::take_signals(&signals).map_err(|e| io(std::io::Error::other(e)))?;
    // Killed with this hutch, as the sandbox would have been had systemd-run been exec'd: the
    // signal stays armed across systemd-run's exec of hutch. std gives the child an empty
    // signal mask; what the caller ignored stays ignored.
    crate::sys::kill_with_this_thread(&mut command);
    let child = command.spawn().map_err(io)?;
    drop(arrival);
    let pid = Pid::from_raw(child.id() as i32);
    let status = crate::sandbox::wait_forwarding(pid, &signals, None)
        .map_err(|e| io(std::io::Error::other(e)))?;
    // Whoever holds the pipe's other end now is gone or has written: no read can block.
    let mut byte = [0u8; 1];
    if matches!(arrivals.read(&mut byte), Ok(1)) {
        return Ok(status);
    }
    Err(CgroupError::ScopeRefused {
        program,
        status: match status {
            0..=128 => format!("exited with status {status}"),
            signal => format!("was killed by signal {}", signal - 128),
        },
    })
}

/// In a hutch that [`run_in_scope`] started: tell the one waiting that it got here, so that
/// the status it ends with is taken for the command's own. Called first thing; does nothing in
/// any other hutch.
pub fn say_arrived_in_scope() {
    if let Some(value) = std::env::var_os(IN_SCOPE_VAR) {
        say_arrived(&value);
    }
}

/// Write to the pipe that [`IN_SCOPE_VAR`]'s `value` names, and close it.
pub(super) fn say_arrived(value: &std::ffi::OsStr) {
    let Some((fd, identity)) = parse_arrival_pipe(value) else {
        return;
    };
    // Only the pipe it was handed, which the payload must not inherit; the variable itself
    // also reaches a sandbox's environment, where that descriptor number is something else.
    if let Some(pipe) = crate::sys::take_inherited_pipe(fd, identity) {
        let _ = nix::unistd::write(&pipe, b"!");
    }
}

/// `FD:DEV:INODE` of [`IN_SCOPE_VAR`].
pub(super) fn parse_arrival_pipe(value: &std::ffi::OsStr) -> Option<(i32, (u64, u64))> {
    let mut fields = value.to_str()?.split(':');
    let fd = fields.next()?.parse().ok()?;
    let dev = fields.next()?.parse().ok()?;
    let inode = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((fd, (dev, inode)))
}
