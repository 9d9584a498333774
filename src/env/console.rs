//! The environment's /dev/console: a pseudoterminal whose output the supervisor copies into
//! console.log.
//!
//! A distribution's init writes its boot and shutdown messages to /dev/console (systemd's
//! "[  OK  ] Started …" and "Stopping …" lines, sysvinit's rc scripts), as LXC and podman
//! provide it: a pty of the host's devpts, its slave bound at the environment's /dev/console
//! (pts(4)). The supervisor holds the master, which the kernel makes raise SIGIO when output
//! waits, and copies it to its own stdout, the console log. The supervisor keeps a descriptor
//! of the slave too, so that the terminal never hangs up between boots.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use super::EnvError;
use crate::sys;

pub struct Console {
    master: nix::pty::PtyMaster,
    _slave: OwnedFd,
    /// The slave's path on the host (/dev/pts/N), to bind at /dev/console.
    pub slave_path: PathBuf,
}

impl Console {
    pub fn open() -> Result<Console, EnvError> {
        let failed = |source| EnvError::Sys {
            what: "cannot make a console for the environment",
            source,
        };
        // The host's multiplexer, /dev/ptmx (its devpts' own ptmx node is mode 000 on Debian).
        let errno = |call: &str| {
            let call = call.to_owned();
            move |errno| failed(sys::SysError { call, errno })
        };
        use nix::fcntl::OFlag;
        let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
            .map_err(errno("posix_openpt(/dev/ptmx)"))?;
        nix::pty::grantpt(&master).map_err(errno("grantpt"))?;
        nix::pty::unlockpt(&master).map_err(errno("unlockpt"))?;
        let slave = sys::open_pty_slave(master.as_fd()).map_err(failed)?;
        // Raw: what the init writes goes to the log as written, no CR before each LF.
        if let Ok(mut termios) = nix::sys::termios::tcgetattr(slave.as_fd()) {
            nix::sys::termios::cfmakeraw(&mut termios);
            let _ = nix::sys::termios::tcsetattr(
                slave.as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                &termios,
            );
        }
        let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))
            .map_err(|e| failed(sys::SysError::io("readlink(/proc/self/fd of the pty)", &e)))?;
        sys::signal_on_input(master.as_fd()).map_err(failed)?;
        Ok(Console {
            master,
            _slave: slave,
            slave_path,
        })
    }

    /// Copy what waits on the console to stdout (the console log).
    pub fn drain(&self) {
        let mut buffer = [0u8; 16384];
        let mut out = std::io::stdout().lock();
        // A flood from inside cannot hold the supervisor: at most this much per wake-up.
        for _ in 0..64 {
            match nix::unistd::read(self.master.as_raw_fd(), &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    let _ = out.write_all(&buffer[..read]);
                }
            }
        }
        let _ = out.flush();
    }
}
