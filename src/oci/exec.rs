//! `exec`: another process in a running container. This process joins the namespaces the
//! container's init has of its own (one setns(2) through a pidfd, which cannot hit a recycled
//! pid), forks into the pid namespace, and the child takes the same restrictions as the
//! container's init, from the same plan (the copy of config.json kept at `create`): bounding
//! set, no_new_privs, Landlock, seccomp, user and capabilities; then it execs the command.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::config::{self, HostFacts};
use super::state::{Container, Status};
use super::OciError;
use crate::channel;
use crate::sandbox;
use crate::sys;

pub struct ExecRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub process: Option<&'a Path>,
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    pub tty: bool,
    pub console_socket: Option<&'a Path>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub no_new_privs: bool,
    pub preserve_fds: u32,
}

const NAMESPACES: &[(&str, CloneFlags)] = &[
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
];

/// Run the process; its exit status, or 0 once started with `detach`.
pub fn exec(request: &ExecRequest<'_>) -> Result<u8, OciError> {
    let container = Container::at(request.root, request.id)?;
    let record = container.load()?;
    let status = container.status(&record);
    if !matches!(status, Status::Running | Status::Created) {
        return Err(OciError::WrongState {
            id: request.id.to_owned(),
            status,
            wanted: "running",
        });
    }
    let (spec, raw) = config::load(&container.config_copy())?;
    let plan = config::plan(&spec, &raw, &record.bundle, HostFacts::current())?;
    let mut process = match request.process {
        Some(path) => {
            let text = std::fs::read(path).map_err(|source| OciError::Io {
                what: "read",
                path: path.to_owned(),
                source,
            })?;
            let parsed: oci_spec::runtime::Process =
                serde_json::from_slice(&text).map_err(|source| OciError::ProcessFile {
                    path: path.to_owned(),
                    source,
                })?;
            config::process_plan(&parsed, "process")?
        }
        None => {
            if request.args.is_empty() {
                return Err(OciError::Usage(
                    "exec needs a command, or --process FILE".into(),
                ));
            }
            let mut process = plan.process.clone();
            process.argv = c_strings(&request.args)?;
            process.terminal = request.tty;
            process
        }
    };
    if let Some(cwd) = &request.cwd {
        process.cwd = cwd.clone();
    }
    process.env.extend(c_strings(&request.env)?);
    if let Some(user) = &request.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u.parse().ok(), g.parse().ok()),
            None => (user.parse().ok(), Some(process.gid)),
        };
        let (Some(uid), Some(gid)) = (uid, gid) else {
            return Err(OciError::Usage(format!(
                "--user {user:?}: expected UID[:GID], as numbers"
            )));
        };
        process.uid = uid;
        process.gid = gid;
    }
    process.no_new_privileges |= request.no_new_privs;
    process.preserve_fds = request.preserve_fds;
    if process.terminal && request.console_socket.is_none() {
        return Err(OciError::NoConsoleSocket);
    }

    let init = Pid::from_raw(record.pid);
    let join_err = |source| OciError::Join {
        id: request.id.to_owned(),
        source,
    };
    let pidfd = sys::pidfd_open(init).map_err(join_err)?;
    if !super::state::alive(&record) {
        return Err(OciError::WrongState {
            id: request.id.to_owned(),
            status: Status::Stopped,
            wanted: "running",
        });
    }
    let mut namespaces = CloneFlags::empty();
    for (name, flag) in NAMESPACES {
        let theirs = std::fs::read_link(format!("/proc/{init}/ns/{name}")).ok();
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        if theirs.is_some() && theirs != ours {
            namespaces |= *flag;
        }
    }
    let console = match request.console_socket.filter(|_| process.terminal) {
        Some(path) => Some(
            std::os::unix::net::UnixStream::connect(path).map_err(|source| OciError::Io {
                what: "connect to the console socket",
                path: path.to_owned(),
                source,
            })?,
        ),
        None => None,
    };
    let rules = config::landlock_rules(&plan);
    let last_cap = sys::last_capability();
    let signals = sandbox::launcher_signals();
    if !request.detach {
        sandbox::take_signals(&signals).map_err(|e| OciError::Usage(e.to_string()))?;
    }
    // The pid file is a host path: its directory is opened before this process leaves the host's
    // mount namespace.
    let pid_file = match request.pid_file {
        Some(path) => Some(PidFile::open(path)?),
        None => None,
    };
    // The container's cgroup, opened while its path still means the host's: the process is
    // born in it (clone3 CLONE_INTO_CGROUP) and lives under the container's limits.
    let cgroup = match &record.cgroup {
        Some(path) => Some(std::fs::File::open(path).map_err(|source| OciError::Io {
            what: "open the container's cgroup",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let (reader, writer) = channel::report_pipe().map_err(OciError::Sys)?;
    // With a cgroup, the child joins the cgroup namespace once it is born in the container's
    // cgroup: clone3 refuses (ENOENT) to move a process from outside a cgroup namespace's root
    // into it for a process inside that namespace (cgroup_procs_write_permission).
    let cgroup_ns_later = cgroup.is_some() && namespaces.contains(CloneFlags::CLONE_NEWCGROUP);
    if cgroup_ns_later {
        namespaces.remove(CloneFlags::CLONE_NEWCGROUP);
    }
    // This process joins them all; the pid namespace only holds for its children.
    if !namespaces.is_empty() {
        sys::setns(pidfd.as_fd(), namespaces).map_err(join_err)?;
    }
    let forked = match &cgroup {
        // SAFETY: `hutch-oci exec` starts no thread (see `crate::child`).
        Some(dir) => unsafe { sys::clone_into_cgroup(CloneFlags::empty(), dir.as_fd()) },
        // SAFETY: `hutch-oci exec` starts no thread (see `crate::child`).
        None => unsafe { sys::fork() },
    };
    drop(cgroup);
    let child = match forked.map_err(OciError::Sys)? {
        None => crate::child::run("joining the container", || {
            drop(reader);
            if cgroup_ns_later {
                if let Err(e) = sys::setns(pidfd.as_fd(), CloneFlags::CLONE_NEWCGROUP) {
                    writer.failed(
                        1,
                        &format!("cannot join the container's cgroup namespace: {e}"),
                    );
                    return 1;
                }
            }
            if let Some(socket) = &console {
                if let Err(e) = super::console::attach(socket, process.console_size) {
                    writer.failed(1, &format!("cannot set up the terminal: {e}"));
                    return 1;
                }
            }
            drop(console);
            if let Err(e) = crate::limits::apply(&process.rlimits) {
                writer.failed(1, &crate::error::render(&e, e.hint().as_deref()));
                return 1;
            }
            if let Err(e) = super::init::restrict(&plan, &process, &rules, last_cap) {
                writer.failed(1, &crate::error::render(&e, None));
                return 1;
            }
            let status = super::init::exec(&process, &plan);
            writer.failed(status as u8, "the command could not be executed");
            status
        }),
        Some(child) => child,
    };
    drop(writer);
    drop(console);
    if let Some(report) = reader.wait_until_running() {
        let _ = nix::sys::wait::waitpid(child, None);
        return Err(OciError::Inside(report.message));
    }
    if let Some(pid_file) = pid_file {
        pid_file.write(child)?;
    }
    if request.detach {
        return Ok(0);
    }
    sandbox::wait_forwarding(child, &signals, None).map_err(|e| OciError::Usage(e.to_string()))
}

/// A pid file to write once this process is in the container's mount namespace, where its
/// path means nothing: written through its directory's descriptor, replaced atomically.
struct PidFile {
    path: PathBuf,
    dir: OwnedFd,
    name: std::ffi::OsString,
}

impl PidFile {
    fn open(path: &Path) -> Result<PidFile, OciError> {
        let io = |source| OciError::Io {
            what: "open the directory of the pid file",
            path: path.to_owned(),
            source,
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = rustix::fs::open(
            parent,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| io(e.into()))?;
        let name = path
            .file_name()
            .ok_or_else(|| io(std::io::Error::from_raw_os_error(libc::EISDIR)))?
            .to_owned();
        Ok(PidFile {
            path: path.to_owned(),
            dir,
            name,
        })
    }

    fn write(self, pid: Pid) -> Result<(), OciError> {
        use rustix::fs::{Mode, OFlags};
        let io = |e: rustix::io::Errno| OciError::Io {
            what: "write the pid file",
            path: self.path.clone(),
            source: e.into(),
        };
        let mut temporary = std::ffi::OsString::from(".");
        temporary.push(&self.name);
        temporary.push(".hutch-oci");
        let file = rustix::fs::openat(
            &self.dir,
            &temporary,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(io)?;
        rustix::io::write(&file, pid.as_raw().to_string().as_bytes()).map_err(io)?;
        rustix::fs::renameat(&self.dir, &temporary, &self.dir, &self.name).map_err(io)
    }
}

fn c_strings(list: &[String]) -> Result<Vec<std::ffi::CString>, OciError> {
    list.iter()
        .map(|s| {
            std::ffi::CString::new(s.as_str())
                .map_err(|_| OciError::Usage(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}
