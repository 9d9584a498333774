//! hutch: a rootless, setuid-free sandbox launcher.
//!
//! The command line (`cli`) parses flags and a profile into one validated `spec`; `sandbox`
//! launches it: `idmap`, `mounts` and `init` do the work inside the new namespaces, `sys` holds
//! every raw system call. `check` is the doctor: it tells whether this host can run sandboxes.

pub mod caps;
pub mod channel;
pub mod check;
pub mod cli;
pub mod diagnose;
pub mod env;
pub mod environ;
pub mod error;
pub mod explain;
pub mod idmap;
pub mod image;
pub mod init;
pub mod landlock;
pub mod limits;
pub mod mounts;
pub mod net;
pub mod profile;
pub(crate) mod protected;
pub mod sandbox;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod subid;
pub mod sys;
pub mod userns;
