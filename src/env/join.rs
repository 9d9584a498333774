//! `hutch exec` and `hutch enter`: run a command inside a running environment. The command
//! joins PID 1's namespaces through a pidfd (checked against PID 1's start time, so a recycled
//! pid is never joined), then takes on the same capabilities, no_new_privs, Landlock rules and
//! seccomp filter as the environment, and execs.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::relay::{self, RelayError};
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

pub use super::relay::Options as StdioOptions;

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("cannot join the environment's namespaces")]
    Setns(#[source] sys::SysError),
    #[error("cannot make hutch non-dumpable before joining the environment")]
    NotDumpable(#[source] sys::SysError),
    #[error("cannot restrict system calls before joining the environment")]
    Seccomp(#[source] seccomp::SeccompError),
    #[error(transparent)]
    Relay(#[from] RelayError),
}

impl JoinError {
    pub fn hint(&self) -> Option<String> {
        match self {
            JoinError::Env(e) => e.hint(),
            JoinError::Launch(e) => e.hint(),
            JoinError::Seccomp(e) => e.hint(),
            JoinError::Relay(e) => e.hint(),
            JoinError::Setns(_) | JoinError::NotDumpable(_) => None,
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
///
/// The order of the steps is what keeps the environment from reaching into the host through
/// the process that joins it; each step says why it comes where it does.
pub fn exec(
    paths: &EnvPaths,
    spec: &SandboxSpec,
    argv: Option<Vec<CString>>,
    user: Option<&str>,
    stdio: relay::Options,
) -> Result<u8, JoinError> {
    // Descriptors opened from here on must not take 0-2 (the caller may have closed one).
    sys::fill_standard_fds().map_err(|e| JoinError::Relay(RelayError::Pipe(e)))?;
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
    let caller = relay::Caller::current();
    // Non-dumpable before anything of the environment's is joined. The flag lives in the
    // memory descriptor and fork(2) copies it (prctl(2), PR_SET_DUMPABLE), so the child below
    // is born non-dumpable in the environment's pid namespace, and stays so until its execve.
    // A non-dumpable process can be ptraced, have /proc/PID/{fd,environ,mem} read or its
    // descriptors taken with pidfd_getfd(2) only by a holder of CAP_SYS_PTRACE in the user
    // namespace its memory was created in (ptrace(2), "Ptrace access mode checking") — the
    // host's, which nothing inside has. Without it, root inside (the same host uid as hutch)
    // could seize the child before its seccomp filter, Landlock rules and capability drop.
    sys::set_dumpable(false).map_err(JoinError::NotDumpable)?;
    let signals = sandbox::launcher_signals();
    sandbox::take_signals(&signals)?;
    let namespaces = sandbox::namespaces(&spec);
    // This process joins every namespace but the pid one, which only its children can enter
    // (setns(2)). It stays invisible inside: no pid of the environment names it.
    sys::setns(pidfd.as_fd(), namespaces).map_err(JoinError::Setns)?;
    drop(pidfd);
    // Again: joining the user namespace gave this process capabilities it did not have, and
    // such a change of credentials resets the flag to the fs.suid_dumpable sysctl (prctl(2),
    // PR_SET_DUMPABLE), which some hosts set to 1.
    sys::set_dumpable(false).map_err(JoinError::NotDumpable)?;
    // In the environment's mount namespace now: a pty is one of its own devpts (pts(4)).
    let (child_stdio, relay) = relay::prepare(relay::plan(stdio, caller))?;
    let (reader, writer) = channel::report_pipe().map_err(LaunchError::Prepare)?;
    // The environment's seccomp filter goes on here, in this invisible process, so that the
    // child inherits it at fork (seccomp(2): "filters are inherited across fork") and is never
    // seen inside unfiltered. It also binds the relay, which holds the caller's descriptors in
    // the environment's namespaces and needs nothing the filter denies. Installing it sets
    // no_new_privs, which this process never execs to need anything else.
    seccomp::apply(&hardening.seccomp).map_err(JoinError::Seccomp)?;
    // SAFETY: `hutch exec` and `hutch enter` start no thread (see `crate::child`).
    let child = match unsafe { sys::fork() }.map_err(LaunchError::Prepare)? {
        None => crate::child::run("joining the environment", || {
            drop(reader);
            join_and_exec(&spec, &hardening, user, login, child_stdio, writer)
        }),
        Some(child) => child,
    };
    drop(child_stdio);
    drop(writer);
    let report = reader.wait_until_running();
    let status = relay.run(child, &signals)?;
    match report {
        Some(report) => Err(LaunchError::Inside(Report { status, ..report }).into()),
        None => Ok(status),
    }
}

/// In the joined namespaces, already non-dumpable and under the environment's seccomp filter:
/// the environment's remaining restrictions, in the same order as its PID 1 took them, then
/// the command.
fn join_and_exec(
    spec: &SandboxSpec,
    hardening: &Hardening,
    user: Option<&str>,
    login: bool,
    stdio: relay::ChildStdio,
    report: ReportWriter,
) -> ! {
    let fail = |report: ReportWriter, message: String| -> ! {
        report.failed(125, &message);
        sys::exit_immediately(125)
    };
    // First: the caller's descriptors 0-2 and every other descriptor of hutch's are replaced
    // or closed (close_range(2)), and the caller's session left, before any step that touches
    // the environment's files.
    if let Err(e) = stdio.install(report.as_fd()) {
        fail(
            report,
            format!("cannot set up the command's standard input and output: {e}"),
        );
    }
    // The user is looked up in the environment's own /etc/passwd: this process is in its mount
    // namespace now.
    let mut spec = spec.clone();
    let account = match user.map(|name| (name, read_passwd(Path::new(PASSWD)))) {
        None => None,
        Some((name, Ok(passwd))) => match passwd_entry(&passwd, name) {
            Some(account) => Some(account),
            None => fail(
                report,
                format!("no user {name:?} in the environment's /etc/passwd"),
            ),
        },
        Some((_, Err(e))) => fail(report, e),
    };
    if let Some(account) = &account {
        account.apply_to(&mut spec);
        // The pty is the user's terminal, as login(1) makes it: theirs to chmod for mesg(1) and
        // to hand to programs that check who owns their terminal. Only where the id is mapped
        // (the kernel refuses others); the terminal works all the same if it stays root's.
        if nix::unistd::isatty(0).unwrap_or(false) {
            let _ = nix::unistd::fchown(0, Some(account.uid.into()), None);
        }
    }
    if login {
        if account.is_none() {
            // The shell of whoever the command runs as (root with --map-root, else the user's
            // own uid), from the environment's own /etc/passwd: what a login there would start.
            let own = read_passwd(Path::new(PASSWD))
                .ok()
                .and_then(|passwd| passwd_entry_by_uid(&passwd, nix::unistd::getuid().as_raw()));
            if let Some(shell) = own.map(|account| account.shell) {
                set_shell(&mut spec, &shell);
            }
        }
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
        // A new effective uid resets the dumpable flag to fs.suid_dumpable (prctl(2)); this
        // process must stay non-dumpable until its execve.
        if let Err(e) = sys::set_dumpable(false) {
            fail(report, e.to_string());
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
    // The seccomp filter is already on: inherited from the parent.
    init::exec_payload(&spec, report)
}

const PASSWD: &str = "/etc/passwd";
/// More than any real /etc/passwd holds (about 100 bytes a user).
const PASSWD_LIMIT: u64 = 1 << 20;

/// The environment's /etc/passwd, which root inside may have made anything: a FIFO or a device
/// would hang the read, a huge file exhaust memory, a symlink point anywhere. Only a regular
/// file up to [`PASSWD_LIMIT`] is read; the error says what it found instead.
fn read_passwd(path: &Path) -> Result<String, String> {
    let shown = format!("the environment's {}", path.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!("{shown} is a symbolic link; it must be a regular file"),
            _ => format!("cannot open {shown}: {e}"),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file (it is a {}); hutch reads users only from a file",
            file_kind(&meta)
        ));
    }
    if meta.len() > PASSWD_LIMIT {
        return Err(format!(
            "{shown} is {} bytes, more than the {PASSWD_LIMIT} hutch reads",
            meta.len()
        ));
    }
    let mut text = String::new();
    // The size may grow after the fstat: the limit holds for what is read too.
    file.take(PASSWD_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    Ok(text)
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_dir() {
        "directory"
    } else {
        "special file"
    }
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
    passwd_find(passwd, |f| f[0] == name)
}

fn passwd_entry_by_uid(passwd: &str, uid: u32) -> Option<Account> {
    let uid = uid.to_string();
    passwd_find(passwd, |f| f[2] == uid)
}

/// The first line of `passwd` whose fields `wanted` says yes to.
fn passwd_find(passwd: &str, wanted: impl Fn(&[&str]) -> bool) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || !wanted(&f) {
            return None;
        }
        Some(Account {
            name: f[0].to_owned(),
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

/// `shell` as the command's $SHELL, when it is installed in the environment (a passwd line may
/// name a shell the image does not have; $SHELL is kept then).
fn set_shell(spec: &mut SandboxSpec, shell: &str) {
    if !Path::new(shell).is_absolute() || !Path::new(shell).is_file() {
        return;
    }
    spec.env.retain(|e| !e.as_bytes().starts_with(b"SHELL="));
    if let Ok(entry) = CString::new(format!("SHELL={shell}")) {
        spec.env.push(entry);
    }
}

/// The login shell `hutch enter` starts: $SHELL (the passwd one of the user it runs as) when
/// absolute.
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
    fn passwd_is_read_only_from_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let regular = dir.path().join("passwd");
        std::fs::write(&regular, "root:x:0:0::/root:/bin/sh\n").unwrap();
        assert_eq!(
            read_passwd(&regular).unwrap(),
            "root:x:0:0::/root:/bin/sh\n"
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(read_passwd(&fifo).unwrap_err().contains("(it is a FIFO)"));
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(PASSWD_LIMIT + 1)
            .unwrap();
        assert!(read_passwd(&huge).unwrap_err().contains("more than the"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&regular, &link).unwrap();
        assert!(read_passwd(&link).unwrap_err().contains("symbolic link"));
        assert!(read_passwd(Path::new("/dev/null"))
            .unwrap_err()
            .contains("character device"));
    }

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
        let root = passwd_entry_by_uid(passwd, 0).unwrap();
        assert_eq!(
            (root.name.as_str(), root.shell.as_str()),
            ("root", "/bin/bash")
        );
        assert_eq!(passwd_entry_by_uid(passwd, 1000).unwrap().name, "bob");
        assert!(passwd_entry_by_uid(passwd, 7).is_none());
    }
}
