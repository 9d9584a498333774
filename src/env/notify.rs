//! The environment's notification socket: how an init tells the supervisor it has booted.
//!
//! systemd, started with `$NOTIFY_SOCKET` in its environment, sends `READY=1` there once it has
//! finished starting up, `STATUS=…` as it goes, and `STOPPING=1` when it shuts down
//! (sd_notify(3); systemd's CONTAINER_INTERFACE). The supervisor binds a unix datagram socket at
//! `envs/NAME/run/notify`, the environment sees it at [`INSIDE`], and the kernel tells the
//! supervisor of each datagram with SIGIO, which its signal loop already waits for. What comes
//! in is the environment's word about itself, nothing more: it only changes what `hutch status`
//! says and when `hutch start` returns.

use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use super::{EnvError, EnvPaths};
use crate::sys;

/// Where the socket is inside the environment (systemd's /run/host is the container manager's).
pub const INSIDE: &str = "/run/host/notify";

/// The socket on the host: `envs/NAME/run/notify`.
pub fn host_path(paths: &EnvPaths) -> PathBuf {
    paths.run.join("notify")
}

/// What one datagram said (sd_notify(3): newline-separated `KEY=VALUE` assignments).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Notice {
    pub ready: bool,
    pub stopping: bool,
    pub status: Option<String>,
}

impl Notice {
    pub fn parse(datagram: &[u8]) -> Notice {
        let mut notice = Notice::default();
        for line in String::from_utf8_lossy(datagram).lines() {
            match line.split_once('=') {
                Some(("READY", "1")) => notice.ready = true,
                Some(("STOPPING", "1")) => notice.stopping = true,
                Some(("STATUS", text)) => {
                    // Shown by `hutch status`: printable characters only, and not a novel.
                    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
                    notice.status = Some(text);
                }
                _ => {}
            }
        }
        notice
    }
}

pub struct NotifySocket {
    socket: UnixDatagram,
}

impl NotifySocket {
    /// Bind the socket (replacing one a dead supervisor left) and have it raise SIGIO.
    pub fn bind(paths: &EnvPaths) -> Result<NotifySocket, EnvError> {
        let path = host_path(paths);
        let io = |what: &'static str| {
            let path = path.clone();
            move |source| EnvError::Io { what, path, source }
        };
        let _ = std::fs::remove_file(&path);
        // sun_path holds 108 bytes, less than a data directory may need: bind through the
        // run directory's descriptor.
        let dir = std::fs::File::open(&paths.run).map_err(io("cannot open the directory of"))?;
        use std::os::fd::AsRawFd;
        let short = format!("/proc/self/fd/{}/notify", dir.as_raw_fd());
        let socket = UnixDatagram::bind(&short).map_err(io("cannot bind"))?;
        drop(dir);
        // Root inside (the user's own uid) sends; nobody else on the host reaches envs/NAME.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(io("cannot set the mode of"))?;
        sys::signal_on_input(socket.as_fd()).map_err(|source| EnvError::Sys {
            what: "cannot watch the notification socket",
            source,
        })?;
        Ok(NotifySocket { socket })
    }

    /// Every datagram waiting, parsed.
    pub fn drain(&self) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut buffer = [0u8; 4096];
        // A flood from inside cannot hold the supervisor: at most this many per wake-up.
        for _ in 0..64 {
            match self.socket.recv(&mut buffer) {
                Ok(read) => notices.push(Notice::parse(&buffer[..read])),
                Err(_) => break,
            }
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_parse_as_sd_notify_writes_them() {
        let n = Notice::parse(b"READY=1\nSTATUS=Startup finished in 1.2s.\n");
        assert!(n.ready && !n.stopping);
        assert_eq!(n.status.as_deref(), Some("Startup finished in 1.2s."));
        let n = Notice::parse(b"STOPPING=1");
        assert!(n.stopping && !n.ready);
        assert_eq!(Notice::parse(b"READY=0\nX=1\n"), Notice::default());
        let n = Notice::parse(b"STATUS=\x1b]0;title\x07ok");
        assert_eq!(n.status.as_deref(), Some("]0;titleok"));
    }
}
