//! How the launcher and the sandbox's first process talk: pipes, no shared memory.
//!
//! - The *report* pipe carries one message from inside the sandbox to the launcher when set-up or
//!   the final execve fails. Its write end is close-on-exec, so a successful execve of the payload
//!   closes it and the launcher reads end-of-file: "running".
//! - The *lifeline* pipe is held open by the launcher only. The sandbox polls it once right after
//!   asking for a parent-death signal, to catch a launcher that died before that request.
//! - The *network* pipe exists only with `--net pasta`: the sandbox waits on it, before anything
//!   of the user's runs, until the launcher has seen pasta configure the interface.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::OFlag;

use crate::sys::{self, SysError};

/// A failure reported from inside the sandbox: the exit status to use and the rendered error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub status: u8,
    pub message: String,
}

pub struct ReportReader(File);
pub struct ReportWriter(File);

pub fn report_pipe() -> Result<(ReportReader, ReportWriter), SysError> {
    let (read, write) = pipe("report")?;
    Ok((
        ReportReader(File::from(read)),
        ReportWriter(File::from(write)),
    ))
}

impl AsFd for ReportWriter {
    /// For keeping it open when every other descriptor is closed (`hutch exec`'s child).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl ReportWriter {
    /// Send the failure to the launcher. Errors are ignored: if the launcher is gone, nobody is
    /// left to tell.
    pub fn failed(mut self, status: u8, message: &str) {
        let mut bytes = Vec::with_capacity(message.len() + 1);
        bytes.push(status);
        bytes.extend_from_slice(message.as_bytes());
        let _ = self.0.write_all(&bytes);
    }
}

impl ReportReader {
    /// Block until the payload has been executed (`None`) or a failure is reported.
    pub fn wait_until_running(mut self) -> Option<Report> {
        let mut bytes = Vec::new();
        let _ = self.0.read_to_end(&mut bytes);
        let (&status, message) = bytes.split_first()?;
        Some(Report {
            status,
            message: String::from_utf8_lossy(message).into_owned(),
        })
    }
}

/// The launcher's end: keep it alive as long as the launcher lives.
pub struct LifelineHolder(#[allow(dead_code)] OwnedFd);
/// The sandbox's end.
pub struct LifelineWatch(OwnedFd);

pub fn lifeline() -> Result<(LifelineHolder, LifelineWatch), SysError> {
    let (read, write) = pipe("lifeline")?;
    Ok((LifelineHolder(write), LifelineWatch(read)))
}

impl LifelineWatch {
    pub fn launcher_gone(&self) -> Result<bool, SysError> {
        sys::peer_closed(self.0.as_fd())
    }
}

/// The launcher's end of a *go* pipe: one byte once the launcher has done its part of the set-up
/// (pasta configured the network; newuidmap wrote the id maps). Closing it without a word means
/// "give up". Only the modes that need it have one: the plain path has no extra round trip.
pub struct GoSender(File);
/// The sandbox's end.
pub struct GoWaiter(File);

pub fn go_pipe(name: &str) -> Result<(GoSender, GoWaiter), SysError> {
    let (read, write) = pipe(name)?;
    Ok((GoSender(File::from(write)), GoWaiter(File::from(read))))
}

impl GoSender {
    pub fn go(mut self) -> Result<(), SysError> {
        self.0
            .write_all(b"N")
            .map_err(|e| SysError::io("write(go pipe)", &e))
    }
}

impl AsFd for GoWaiter {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl GoWaiter {
    /// Block until the launcher says the network is up: `true`; `false` if it gave up or died.
    pub fn wait_for_go(mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.0.read(&mut byte), Ok(1))
    }
}

/// PID 1 sends the payload's exit status here just before it exits, so that the launcher can
/// return without waiting for the kernel to tear down the sandbox's namespaces (hundreds of
/// microseconds: the mount tree, the network namespace). The read end raises SIGIO in the
/// launcher (O_ASYNC), which takes it with sigwaitinfo like its other signals.
pub struct ExitReader(File);
pub struct ExitWriter(File);

pub fn exit_pipe() -> Result<(ExitReader, ExitWriter), SysError> {
    let (read, write) = pipe("exit status")?;
    sys::signal_when_readable(read.as_fd())?;
    Ok((ExitReader(File::from(read)), ExitWriter(File::from(write))))
}

impl ExitWriter {
    pub fn send(mut self, status: u8) {
        let _ = self.0.write_all(&[status]);
    }
}

impl ExitReader {
    /// The status, if PID 1 has sent it (never blocks).
    pub fn try_status(&self) -> Option<u8> {
        let mut byte = [0u8];
        match (&self.0).read(&mut byte) {
            Ok(1) => Some(byte[0]),
            _ => None,
        }
    }
}

fn pipe(name: &str) -> Result<(OwnedFd, OwnedFd), SysError> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| SysError {
        call: format!("pipe2({name})"),
        errno,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_file_without_a_message_means_running() {
        let (reader, writer) = report_pipe().unwrap();
        drop(writer);
        assert_eq!(reader.wait_until_running(), None);
    }

    #[test]
    fn a_failure_carries_status_and_message() {
        let (reader, writer) = report_pipe().unwrap();
        writer.failed(127, "command not found: x");
        assert_eq!(
            reader.wait_until_running(),
            Some(Report {
                status: 127,
                message: "command not found: x".into()
            })
        );
    }

    #[test]
    fn network_ready_or_given_up() {
        let (sender, waiter) = go_pipe("network").unwrap();
        sender.go().unwrap();
        assert!(waiter.wait_for_go());
        let (sender, waiter) = go_pipe("network").unwrap();
        drop(sender);
        assert!(!waiter.wait_for_go());
    }

    #[test]
    fn lifeline_notices_a_dead_launcher() {
        let (holder, watch) = lifeline().unwrap();
        assert!(!watch.launcher_gone().unwrap());
        drop(holder);
        assert!(watch.launcher_gone().unwrap());
    }
}
