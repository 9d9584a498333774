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
pub fn exec(
    paths: &EnvPaths,
    spec: &SandboxSpec,
    argv: Option<Vec<CString>>,
    user: Option<&str>,
) -> Result<u8, JoinError> {
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
    // No command: a login shell, chosen inside once the user is known.
    let login = argv.is_none();
    let spec = SandboxSpec {
        argv: argv.unwrap_or_default(),
        ..spec.clone()
    };
    let hardening = Hardening::prepare(&spec)?;
    let signals = sandbox::launcher_signals();
    sandbox::take_signals(&signals)?;
    let namespaces = sandbox::namespaces(&spec);
    // This process joins every namespace but the pid one, which only its children can enter.
    sys::setns(pidfd.as_fd(), namespaces).map_err(JoinError::Setns)?;
    let (reader, writer) = channel::report_pipe().map_err(LaunchError::Prepare)?;
    // SAFETY: `hutch exec` and `hutch enter` start no thread (see `crate::child`).
    let child = match unsafe { sys::fork() }.map_err(LaunchError::Prepare)? {
        None => crate::child::run("joining the environment", || {
            drop(reader);
            join_and_exec(&spec, &hardening, user, login, writer)
        }),
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
fn join_and_exec(
    spec: &SandboxSpec,
    hardening: &Hardening,
    user: Option<&str>,
    login: bool,
    report: ReportWriter,
) -> ! {
    let fail = |report: ReportWriter, message: String| -> ! {
        report.failed(125, &message);
        sys::exit_immediately(125)
    };
    // The user is looked up in the environment's own /etc/passwd: this process is in its mount
    // namespace now.
    let mut spec = spec.clone();
    let account = match user.map(|name| (name, std::fs::read_to_string("/etc/passwd"))) {
        None => None,
        Some((name, Ok(passwd))) => match passwd_entry(&passwd, name) {
            Some(account) => Some(account),
            None => fail(
                report,
                format!("no user {name:?} in the environment's /etc/passwd"),
            ),
        },
        Some((_, Err(e))) => fail(
            report,
            format!("cannot read the environment's /etc/passwd: {e}"),
        ),
    };
    if let Some(account) = &account {
        account.apply_to(&mut spec);
    }
    if login {
        spec.argv = login_shell(&spec);
    }
    if let Err(e) = sys::chdir(&spec.workdir) {
        fail(
            report,
            format!(
                "cannot enter {} in the environment: {e}",
                spec.workdir.display()
            ),
        );
    }
    // Capabilities first (dropping from the bounding set needs CAP_SETPCAP), then the user:
    // becoming a uid other than 0 clears what is left of them.
    if let Err(e) = caps::restrict_to(spec.capabilities) {
        fail(report, crate::error::render(&e, None));
    }
    if let Some(account) = &account {
        if let Err(e) = sys::become_user(account.uid, account.gid) {
            fail(
                report,
                format!(
                    "cannot become {} (uid {}, gid {}): {e}; the environment maps only the ids its \
                     id ranges hold",
                    account.name, account.uid, account.gid
                ),
            );
        }
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
    init::exec_payload(&spec, report)
}

/// An /etc/passwd line of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
    shell: String,
}

impl Account {
    /// The command runs as this user: in its home, with its name and shell in the environment.
    fn apply_to(&self, spec: &mut SandboxSpec) {
        for (key, value) in [
            ("HOME", &self.home),
            ("USER", &self.name),
            ("LOGNAME", &self.name),
            ("SHELL", &self.shell),
        ] {
            let prefix = format!("{key}=");
            spec.env
                .retain(|e| !e.as_bytes().starts_with(prefix.as_bytes()));
            if let Ok(entry) = CString::new(format!("{key}={value}")) {
                spec.env.push(entry);
            }
        }
        spec.workdir = self.home.clone().into();
    }
}

fn passwd_entry(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0] != name {
            return None;
        }
        Some(Account {
            name: name.to_owned(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: if f[5].is_empty() {
                "/".into()
            } else {
                f[5].to_owned()
            },
            shell: if f[6].is_empty() {
                "/bin/sh".into()
            } else {
                f[6].to_owned()
            },
        })
    })
}

/// The login shell `hutch enter` starts: $SHELL (the user's, with --user) when absolute.
pub fn login_shell(spec: &SandboxSpec) -> Vec<CString> {
    let shell = crate::spec::env_lookup(&spec.env, "SHELL")
        .map(|s| s.to_owned())
        .filter(|s| std::path::Path::new(s).is_absolute())
        .unwrap_or_else(|| "/bin/sh".into());
    let shell = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(shell.as_os_str()))
        .unwrap_or_else(|_| c"/bin/sh".to_owned());
    vec![shell, c"-l".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_are_read_by_name() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob,,,:/home/bob:\nbad:line\n";
        let bob = passwd_entry(passwd, "bob").unwrap();
        assert_eq!(
            (bob.uid, bob.gid, bob.home.as_str(), bob.shell.as_str()),
            (1000, 1000, "/home/bob", "/bin/sh")
        );
        assert_eq!(passwd_entry(passwd, "root").unwrap().shell, "/bin/bash");
        assert!(passwd_entry(passwd, "nobody").is_none());
        assert!(passwd_entry(passwd, "bad").is_none());
    }
}
