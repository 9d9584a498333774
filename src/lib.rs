//! hutch: a rootless, setuid-free sandbox launcher.
//!
//! The command line (`cli`) parses flags and a profile into one validated `spec`; `sandbox`
//! launches it: `child` holds what runs in a child between clone/fork and exec (the set-up
//! inside the new namespaces, with `idmap`, `mounts` and `init`), `sys` every raw system call.
//! `check` is the doctor: it tells whether this host can run sandboxes.

pub mod account;
pub mod caps;
pub mod cgroup;
pub mod channel;
pub mod check;
pub mod child;
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
pub mod oci;
pub mod output;
pub mod profile;
pub mod program;
pub(crate) mod protected;
pub mod sandbox;
pub mod seccomp;
pub mod secrets;
pub mod spec;
pub mod state;
pub mod subid;
pub mod sys;
pub mod userns;
