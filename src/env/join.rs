//! `hutch exec` and `hutch enter`: run a command inside a running environment. The command
//! joins PID 1's namespaces through a pidfd (checked against PID 1's start time, so a recycled
//! pid is never joined), then takes on the same capabilities, no_new_privs, Landlock rules and
//! seccomp filter as the environment, and execs.

use std::ffi::CString;
use std::os::fd::AsFd;

use super::runtime::{self, Status};
use super::{EnvError, EnvPaths};
use crate::caps;
use crate::channel::{self, Report, ReportWriter};
use crate::init;
use crate::landlock;
use crate::sandbox::{self, Hardening, LaunchError};
use crate::seccomp;
use crate::spec::SandboxSpec;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("cannot join the environment's namespaces")]
    Setns(#[source] sys::SysError),
}

impl JoinError {
    pub fn hint(&self) -> Option<String> {
        match self {
            JoinError::Env(e) => e.hint(),
            JoinError::Launch(e) => e.hint(),
            JoinError::Setns(_) => None,
        }
    }

    pub fn exit_status(&self) -> u8 {
        match self {
            JoinError::Launch(e) => e.exit_status(),
            _ => crate::error::HUTCH_FAILED,
        }
    }
}

/// Run `argv` in the environment and return its exit status, as `hutch run` would.
pub fn exec(paths: &EnvPaths, spec: &SandboxSpec, argv: Vec<CString>) -> Result<u8, JoinError> {
    let state = match runtime::status(paths)? {
        Status::Running(state) => state,
        _ => {
            return Err(EnvError::NotRunning {
                name: paths.name.clone(),
            }
            .into())
        }
    };
    let pidfd = sys::pidfd_open(state.init_pid()).map_err(JoinError::Setns)?;
    if !state.init_alive() {
        return Err(EnvError::NotRunning {
            name: paths.name.clone(),
        }
        .into());
    }
    let spec = SandboxSpec {
        argv,
        ..spec.clone()
    };
    let hardening = Hardening::prepare(&spec)?;
    let signals = sandbox::launcher_signals();
    sandbox::take_signals(&signals)?;
    let namespaces = sandbox::namespaces(&spec);
    // This process joins every namespace but the pid one, which only its children can enter.
    sys::setns(pidfd.as_fd(), namespaces).map_err(JoinError::Setns)?;
    let (reader, writer) = channel::report_pipe().map_err(LaunchError::Prepare)?;
    let child = match sys::fork().map_err(LaunchError::Prepare)? {
        None => {
            drop(reader);
            join_and_exec(&spec, &hardening, writer)
        }
        Some(child) => child,
    };
    drop(writer);
    let report = reader.wait_until_running();
    let status = sandbox::wait_forwarding(child, &signals, None)?;
    match report {
        Some(report) => Err(LaunchError::Inside(Report { status, ..report }).into()),
        None => Ok(status),
    }
}

/// In the joined namespaces: the environment's restrictions, in the same order as its PID 1
/// took them, then the command.
fn join_and_exec(spec: &SandboxSpec, hardening: &Hardening, report: ReportWriter) -> ! {
    let fail = |report: ReportWriter, message: String| -> ! {
        report.failed(125, &message);
        std::process::exit(125)
    };
    if let Err(e) = sys::chdir(&spec.workdir) {
        fail(
            report,
            format!(
                "cannot enter {} in the environment: {e}",
                spec.workdir.display()
            ),
        );
    }
    if let Err(e) = caps::restrict_to(spec.capabilities) {
        fail(report, crate::error::render(&e, None));
    }
    if let Err(e) = sys::set_no_new_privs() {
        fail(report, e.to_string());
    }
    if let Err(e) = landlock::apply(
        &hardening.landlock_rules,
        &spec.tcp_ports,
        spec.landlock_scopes,
        spec.landlock,
    ) {
        fail(report, crate::error::render(&e, e.hint().as_deref()));
    }
    if let Err(e) = seccomp::apply(&hardening.seccomp) {
        fail(report, crate::error::render(&e, e.hint().as_deref()));
    }
    init::exec_payload(spec, report)
}

/// The login shell `hutch enter` starts: the user's $SHELL when the environment has it.
pub fn login_shell(spec: &SandboxSpec) -> Vec<CString> {
    let shell = crate::spec::env_lookup(&spec.env, "SHELL")
        .map(|s| s.to_owned())
        .filter(|s| std::path::Path::new(s).is_absolute())
        .unwrap_or_else(|| "/bin/sh".into());
    let shell = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(shell.as_os_str()))
        .unwrap_or_else(|_| c"/bin/sh".to_owned());
    vec![shell, c"-l".to_owned()]
}
