//! `hutch-oci`: hutch as an OCI runtime, with runc's command line, so that podman, containerd
//! (its runc shim's `BinaryName`), CRI-O and through them Kubernetes run containers with
//! hutch's set-up: the mounts placed by descriptor inside the new root, Landlock rules derived
//! from the mount plan, seccomp, capabilities cut to the spec's.
//!
//! - `config`: config.json → hutch's plan; unknown and unsupported fields are refused by name.
//! - `seccomp`: the engine's seccomp profile compiled with seccompiler.
//! - `container`: create / start / state / kill / delete / ps; `exec`: joining a container.
//! - `init`: the container's first process, from clone to the user's program.
//! - `state`: what is kept under `--root`, and how the truth is found again after a crash.
//! - `cli`: runc's flags and verbs, and its error log format.

mod cgroup;
pub mod cli;
pub mod config;
mod console;
pub mod container;
pub mod exec;
mod hooks;
mod init;
pub mod resources;
mod seccomp;
pub mod state;

use std::path::PathBuf;

use state::{OciStateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    State(#[from] OciStateError),
    #[error("cannot find the bundle {}", path.display())]
    Bundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sys(crate::sys::SysError),
    #[error("cannot create the container's namespaces")]
    Clone(#[source] crate::sys::SysError),
    #[error("cannot write {file} ({contents:?}) of the container's user namespace")]
    IdMap {
        file: String,
        contents: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} is needed to map the container's id ranges and is not installed")]
    MissingHelper { tool: &'static str },
    #[error("cannot map the container's id ranges")]
    IdRanges(#[source] crate::idmap::HelperError),
    #[error("process.terminal is set but no --console-socket was given")]
    NoConsoleSocket,
    /// A failure inside the container's set-up, rendered there.
    #[error("{0}")]
    Inside(String),
    #[error("container {id:?} is {}, not {wanted}", status.name())]
    WrongState {
        id: String,
        status: Status,
        wanted: &'static str,
    },
    #[error("container {id:?} did not stop within 10 s of SIGKILL")]
    StillRunning { id: String },
    #[error("unknown signal {signal:?}")]
    BadSignal { signal: String },
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    #[error("cannot join container {id:?}")]
    Join {
        id: String,
        #[source]
        source: crate::sys::SysError,
    },
    #[error("--process {}", path.display())]
    ProcessFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl OciError {
    pub fn hint(&self) -> Option<String> {
        match self {
            OciError::Config(e) => e.hint(),
            OciError::State(e) => e.hint(),
            OciError::IdRanges(e) => e.hint(),
            OciError::MissingHelper { .. } => Some(
                "install the uidmap package, and give the user ranges in /etc/subuid and \
                 /etc/subgid"
                    .into(),
            ),
            OciError::Clone(e)
                if matches!(
                    e.errno,
                    nix::errno::Errno::EPERM
                        | nix::errno::Errno::ENOSPC
                        | nix::errno::Errno::EACCES
                ) =>
            {
                Some(crate::diagnose::userns_hint(std::path::Path::new(
                    "/proc/sys",
                )))
            }
            _ => None,
        }
    }
}
