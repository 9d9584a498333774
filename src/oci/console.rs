//! `process.terminal`: the container's terminal is a pty of its own devpts, allocated inside
//! once the root is built; its master goes to the engine over the console socket
//! (SCM_RIGHTS, unix(7)), its slave becomes the process's standard streams and controlling
//! terminal. No descriptor of a host terminal reaches the container.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;

use nix::pty::{openpty, Winsize};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};

use crate::sys::{self, SysError};

/// Allocate the pty (`size`: rows, columns), send its master on `socket`, and make its slave
/// this process's terminal.
pub fn attach(socket: &UnixStream, size: Option<(u16, u16)>) -> Result<(), SysError> {
    let winsize = size.map(|(rows, cols)| Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty = openpty(winsize.as_ref(), None).map_err(|errno| SysError {
        call: "openpty(/dev/ptmx)".into(),
        errno,
    })?;
    let fds = [pty.master.as_raw_fd()];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"/dev/ptmx")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|errno| SysError {
        call: "sendmsg(console socket, SCM_RIGHTS)".into(),
        errno,
    })?;
    drop(pty.master);
    sys::setsid()?;
    for stream in 0..=2 {
        sys::duplicate_onto(pty.slave.as_raw_fd(), stream)?;
    }
    sys::set_controlling_terminal(pty.slave.as_fd())
}
