//! Running pasta for one sandbox, tied to the launcher that started it.
//!
//! pasta runs in the foreground as the launcher's child (an environment's: the supervisor's),
//! in a process group of its own so that the terminal's Ctrl-C and Ctrl-Z reach the sandbox and
//! not its network. Three things bound its life:
//! - it is ready when it writes its pid (`--pid`) into a pipe: pasta writes it once the
//!   interface, addresses and routes are configured, and the launcher only then lets the sandbox
//!   go on;
//! - the launcher kills and reaps it when the sandbox ends ([`Pasta`]'s `Drop`): pasta holds the
//!   namespace open itself and would otherwise never notice. A one-shot launcher that publishes
//!   no port kills it and exits without waiting ([`Pasta::kill_and_leave`]);
//! - the kernel kills it when the launcher dies, even by SIGKILL (parent-death signal).
//!
//! Its end is on the launcher's path out, so it is kept short: the interface pasta attaches to
//! is one the sandbox made persistent (pasta would otherwise wait, exiting, for the kernel to
//! unregister its tap), and pasta does not watch the namespace (`--no-netns-quit`: closing the
//! watch waits for an SRCU grace period). Each of the two cost 12 to 16 ms here.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{NetError, UserNet};
use crate::channel::GoWaiter;
use crate::sys;

/// How long pasta may take to configure the namespace (it takes tens of milliseconds).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running pasta, killed and reaped when dropped.
#[derive(Debug)]
pub struct Pasta {
    child: Child,
}

impl Pasta {
    /// Start `program` for the sandbox whose PID 1 is `target` once `device_made` says that the
    /// sandbox has made pasta's interface, and wait until the sandbox's network is configured.
    /// On failure nothing of pasta is left.
    pub fn start(
        program: &Path,
        net: &UserNet,
        target: i32,
        device_made: GoWaiter,
    ) -> Result<Pasta, NetError> {
        let spawn_error = |source| NetError::Spawn {
            path: program.to_owned(),
            source,
        };
        let (ready, ready_writer) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| spawn_error(e.into()))?;
        // pasta's messages go to memory: read back when it fails, never onto the sandbox's
        // terminal, and never into a pipe nobody drains.
        let stderr: OwnedFd =
            rustix::fs::memfd_create("pasta-stderr", rustix::fs::MemfdFlags::CLOEXEC)
                .map_err(|e| spawn_error(e.into()))?;
        let mut args = runas_args(rustix::process::geteuid().as_raw());
        args.extend(net.pasta_args(target, ready_writer.as_raw_fd()));
        tracing::debug!(program = %program.display(), args = %args.join(" "), "starting pasta");
        let mut command = Command::new(build_for_this_cpu(program));
        // pasta is passt under another name: the name chooses the mode.
        command
            .arg0("pasta")
            .args(args.iter().map(OsString::from))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr.try_clone().map_err(spawn_error)?))
            .process_group(0);
        sys::tie_to_parent(&mut command, ready_writer.as_fd());
        // Forked already while the sandbox makes the interface; executed once it has.
        sys::exec_after_word(&mut command, device_made.as_fd());
        let child = command.spawn().map_err(spawn_error)?;
        drop(ready_writer);
        let mut pasta = Pasta { child };
        match wait_ready(&ready) {
            Ok(true) => {
                tracing::debug!(pid = pasta.child.id(), "pasta configured the network");
                Ok(pasta)
            }
            Ok(false) => {
                // End of file: pasta exited before it was ready.
                let status = pasta.child.wait().map_err(NetError::Wait)?;
                Err(NetError::PastaFailed {
                    status: describe(status),
                    message: messages(stderr),
                })
            }
            Err(e) => {
                pasta.stop();
                Err(e)
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kill pasta without waiting for it to be gone: for a launcher about to exit, whose
    /// orphaned pasta its new parent reaps. Not where pasta holds a published port, which must
    /// be free once hutch has returned.
    pub fn kill_and_leave(mut self) {
        let _ = self.child.kill();
        std::mem::forget(self);
    }

    fn stop(&mut self) {
        // pasta keeps nothing that needs a clean shutdown: its sockets close with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pasta {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The build of `program` that pasta would run on this CPU. Packages of passt ship a build for
/// CPUs with AVX2 beside the plain one (`passt.avx2`), and the plain one re-executes itself as
/// that at start-up when the CPU has AVX2 (passt's arch.c): hutch runs it directly, one exec
/// (a millisecond here) fewer. Anything else runs `program` as it is.
fn build_for_this_cpu(program: &Path) -> PathBuf {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        if let Ok(real) = std::fs::canonicalize(program) {
            let mut avx2 = real.into_os_string();
            avx2.push(".avx2");
            let avx2 = PathBuf::from(avx2);
            if crate::check::helpers::is_executable(&avx2) {
                return avx2;
            }
        }
    }
    program.to_owned()
}

/// pasta started by root drops to `nobody` (passt(1), `--runas`), and `nobody` may not join the
/// sandbox's user namespace, which root owns: "Couldn't open user namespace". Keeping root's
/// ids lets it join, as any user's pasta joins that user's namespaces; pasta still gives up
/// its capabilities and isolates itself once it has joined. Other users' pasta keeps their
/// ids anyway. CI jobs in containers run as root.
fn runas_args(euid: u32) -> Vec<String> {
    if euid == 0 {
        vec!["--runas".into(), "0:0".into()]
    } else {
        Vec::new()
    }
}

/// Whether pasta wrote its pid (`true`) or closed the pipe by exiting (`false`).
fn wait_ready(ready: &OwnedFd) -> Result<bool, NetError> {
    let timeout =
        PollTimeout::try_from(READY_WITHIN.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN)];
    match nix::poll::poll(&mut fds, timeout) {
        Ok(0) => {
            return Err(NetError::Timeout {
                seconds: READY_WITHIN.as_secs(),
            })
        }
        Ok(_) => {}
        Err(errno) => return Err(NetError::Wait(errno.into())),
    }
    let mut byte = [0u8; 1];
    let mut file = std::fs::File::from(ready.try_clone().map_err(NetError::Wait)?);
    match file.read(&mut byte) {
        Ok(n) => Ok(n > 0),
        Err(e) => Err(NetError::Wait(e)),
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// What pasta said, without the noise about a missing system logger, on one line.
fn messages(stderr: OwnedFd) -> String {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::from(stderr);
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(4096).read_to_string(&mut text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("to syslog"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_keeps_its_ids_and_nobody_else_asks() {
        assert_eq!(runas_args(0), ["--runas", "0:0"]);
        assert!(runas_args(1000).is_empty());
    }

    #[test]
    fn syslog_noise_is_dropped_from_messages() {
        let fd: OwnedFd = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let mut file = std::fs::File::from(fd.try_clone().unwrap());
        std::io::Write::write_all(
            &mut file,
            b"Failed to send 67 bytes to syslog\nFailed to bind any port for '-t 8080', exiting\n",
        )
        .unwrap();
        assert_eq!(
            messages(fd),
            "Failed to bind any port for '-t 8080', exiting"
        );
    }

    #[test]
    fn a_program_that_exits_early_is_a_failure_with_its_message() {
        // `sh` stands in for pasta: it ignores pasta's options and says why it gives up.
        let net = UserNet::new(&[], false, &super::super::HostNet::default());
        let script = tempfile::tempdir().unwrap();
        let fake = script.path().join("pasta");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'No routable interface' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = Pasta::start(&fake, &net, 1, said_go()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pasta could not set up the sandbox's network (exit status 1): No routable interface"
        );
    }

    /// A word already said: the sandbox has made the interface.
    fn said_go() -> GoWaiter {
        let (sender, waiter) = crate::channel::go_pipe("test").unwrap();
        sender.go().unwrap();
        waiter
    }

    #[test]
    fn pasta_runs_only_once_the_sandbox_has_made_its_interface() {
        let net = UserNet::new(&[], false, &super::super::HostNet::default());
        let script = tempfile::tempdir().unwrap();
        let fake = script.path().join("pasta");
        let made = script.path().join("made");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\n[ -e '{}' ] || {{ echo 'ran too early' >&2; exit 3; }}\n\
                 while [ \"$1\" != --pid ]; do shift; done\necho $$ > \"$2\"\nexec sleep 30\n",
                made.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let (sender, waiter) = crate::channel::go_pipe("test").unwrap();
        let sandbox = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(&made, "").unwrap();
            sender.go().unwrap();
        });
        let pasta = Pasta::start(&fake, &net, 1, waiter);
        sandbox.join().unwrap();
        assert!(pasta.is_ok(), "{:?}", pasta.err().map(|e| e.to_string()));
    }

    #[test]
    fn ready_when_the_pid_is_written() {
        let net = UserNet::new(&[], false, &super::super::HostNet::default());
        let script = tempfile::tempdir().unwrap();
        let fake = script.path().join("pasta");
        // The pid file is the argument after --pid; then stay, as pasta does.
        std::fs::write(
            &fake,
            "#!/bin/sh\nwhile [ \"$1\" != --pid ]; do shift; done\necho $$ > \"$2\"\nexec sleep 30\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let pasta = Pasta::start(&fake, &net, 1, said_go()).unwrap();
        let pid = pasta.pid();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(pasta);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "killed and reaped"
        );
    }
}
