//! `hutch cp SRC ENV:DST` and `hutch cp ENV:SRC DST`: files and directories into and out of an
//! environment, running or not.
//!
//! The environment's side is never looked up from the host: an image environment's merged view
//! exists only in an overlay mount, and its symlinks must be followed as the environment sees
//! them. So the copy is made by a helper process that joins the environment's user and mount
//! namespaces (setns(2) through a pidfd, as `hutch exec` does; a stopped environment gets a
//! short-lived sandbox of its root with an idle PID 1 and no network, never its own init). From
//! there the kernel does the overlay's merging (reads see the image under the upper layer,
//! writes go to the upper) and the id mapping (what the helper makes is owned by the
//! environment's root, or by the user in a host environment; the same files are the user's on
//! the host). The host's side is opened by hutch before the helper joins, as the user, and
//! handed to it as a descriptor.
//!
//! Inside, every path is resolved with openat2(2) `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`
//! from the environment's root: a symlink, absolute or climbing with `..`, stays inside, and
//! /proc's magic links are refused. Below the named file nothing is followed: a tree is walked
//! by descriptor, symlinks are copied as symlinks, and an entry that is neither a file, a
//! directory nor a symlink (a FIFO, a device, a socket) is refused rather than opened, where
//! opening could block or act. Permission bits are kept, set-id bits are not carried across;
//! modification times are kept.
//!
//! The helper is non-dumpable from before it joins and is not in the environment's pid
//! namespace: nothing inside can trace it or take its descriptors (see `join`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::sched::CloneFlags;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};

use super::runtime::{self, Status};
use super::{EnvError, EnvPaths};
use crate::channel::{self, ReportWriter};
use crate::sandbox::{self, LaunchError};
use crate::spec::SandboxSpec;
use crate::state::StateDirs;
use crate::sys::{self, Errno, SysError};

/// One side of `hutch cp`: a host path, or a path inside an environment (`ENV:PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Host(PathBuf),
    Env { name: String, path: PathBuf },
}

impl Location {
    /// `NAME:PATH` names an environment's path when NAME is a valid environment name; anything
    /// else is a host path (write `./a:b` for a host file with a colon).
    pub fn parse(arg: &OsStr) -> Location {
        let bytes = arg.as_bytes();
        if let Some(colon) = bytes.iter().position(|&b| b == b':') {
            let (name, path) = (&bytes[..colon], &bytes[colon + 1..]);
            if let Ok(name) = std::str::from_utf8(name) {
                if super::validate_name(name).is_ok() {
                    return Location::Env {
                        name: name.to_owned(),
                        path: PathBuf::from(OsStr::from_bytes(path)),
                    };
                }
            }
        }
        Location::Host(PathBuf::from(arg))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("hutch cp copies between the host and one environment: {0}")]
    Sides(&'static str),
    #[error("{} names no file to copy", path.display())]
    NoName { path: PathBuf },
    #[error("cannot open {} on the host", path.display())]
    HostOpen {
        path: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("cannot start the copy's helper")]
    Helper(#[source] SysError),
    #[error("environment {name:?} is starting")]
    Starting { name: String },
    #[error("{message}")]
    Inside { message: String },
}

impl CopyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            CopyError::Env(e) => e.hint(),
            CopyError::Launch(e) => e.hint(),
            CopyError::Starting { .. } => {
                Some("try again once `hutch ls` says it is running".into())
            }
            CopyError::Sides(_) => Some(
                "e.g. `hutch cp notes.txt dev:/root/` or `hutch cp dev:/etc/os-release .`".into(),
            ),
            _ => None,
        }
    }
}

/// Which way the copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    In,
    Out,
}

/// `hutch cp`.
pub fn copy(dirs: &StateDirs, src: &OsStr, dst: &OsStr) -> Result<(), CopyError> {
    let (direction, env, host, env_path) = match (Location::parse(src), Location::parse(dst)) {
        (Location::Host(host), Location::Env { name, path }) => (Direction::In, name, host, path),
        (Location::Env { name, path }, Location::Host(host)) => (Direction::Out, name, host, path),
        (Location::Host(_), Location::Host(_)) => {
            return Err(CopyError::Sides("neither names an environment (ENV:PATH)"))
        }
        (Location::Env { .. }, Location::Env { .. }) => {
            return Err(CopyError::Sides("both name an environment"))
        }
    };
    let paths = EnvPaths::new(dirs, &env)?;
    let definition = paths.load()?;
    let facts = crate::spec::Host::current().map_err(EnvError::from)?;
    let spec = super::spec(&paths, &definition, &facts)?;
    let env_path = absolute_inside(&env_path);
    // The host's side, opened as the user, before anything of the environment's is joined.
    let job = match direction {
        Direction::In => Job::In {
            source: open_host_source(&host)?,
            name: file_name(&host)?,
            dst: env_path,
        },
        Direction::Out => {
            let name = file_name(&env_path)?;
            let (dir, name) = host_destination(&host, name)?;
            Job::Out {
                src: env_path,
                dir,
                name,
            }
        }
    };
    // Descriptors opened from here on must not take 0-2 (the caller may have closed one).
    sys::fill_standard_fds().map_err(CopyError::Helper)?;
    match runtime::status(&paths)? {
        Status::Running(state) => {
            let pidfd = sys::pidfd_open(state.init_pid()).map_err(CopyError::Helper)?;
            if !state.init_alive() {
                return Err(EnvError::NotRunning { name: env }.into());
            }
            run_helper(&spec, pidfd.as_fd(), job)
        }
        Status::Starting => Err(CopyError::Starting { name: env }),
        Status::Stopped => {
            // The supervisor's lock keeps the environment from starting on the same upper
            // layer while the copy has it mounted (overlayfs allows one mount per upper).
            let Some(_lock) = runtime::take_lock(&paths)? else {
                // A start won the race.
                return Err(CopyError::Starting { name: env });
            };
            with_stopped_environment(&spec, |pidfd| run_helper(&spec, pidfd, job))
        }
    }
}

/// What the helper does, with the host's side already open.
enum Job {
    /// Copy `source` (named `name` on the host) to `dst` in the environment.
    In {
        source: OwnedFd,
        name: OsString,
        dst: PathBuf,
    },
    /// Copy `src` in the environment to `name` in the host's directory `dir`.
    Out {
        src: PathBuf,
        dir: OwnedFd,
        name: OsString,
    },
}

/// `path` as an absolute path inside the environment (relative ones are taken from `/`).
fn absolute_inside(path: &Path) -> PathBuf {
    Path::new("/").join(path)
}

fn file_name(path: &Path) -> Result<OsString, CopyError> {
    // `dir/.` and `dir/..` name no entry of their own: refused rather than guessed.
    match path.components().next_back() {
        Some(Component::Normal(name)) => Ok(name.to_owned()),
        _ => Err(CopyError::NoName {
            path: path.to_owned(),
        }),
    }
}

fn open_host_source(path: &Path) -> Result<OwnedFd, CopyError> {
    rustix::fs::open(path, source_flags(), Mode::empty()).map_err(|e| CopyError::HostOpen {
        path: path.to_owned(),
        source: errno(format!("open({})", path.display()), e),
    })
}

/// The host's directory the copy goes into and the name it gets there: into `path` when it is
/// a directory, else `path` itself (its directory must exist).
fn host_destination(path: &Path, name: OsString) -> Result<(OwnedFd, OsString), CopyError> {
    let open_dir = |dir: &Path| {
        rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| CopyError::HostOpen {
            path: dir.to_owned(),
            source: errno(format!("open({})", dir.display()), e),
        })
    };
    match open_dir(path) {
        Ok(dir) => Ok((dir, name)),
        Err(CopyError::HostOpen { source, .. })
            if matches!(source.errno, Errno::ENOENT | Errno::ENOTDIR) =>
        {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Ok((open_dir(parent)?, file_name(path)?))
        }
        Err(e) => Err(e),
    }
}

/// Run `body` with a pidfd of PID 1 of a sandbox of the stopped environment's root: the same
/// mounts and id maps, an idle hutch init (never the image's own), no network.
fn with_stopped_environment(
    spec: &SandboxSpec,
    body: impl FnOnce(BorrowedFd<'_>) -> Result<(), CopyError>,
) -> Result<(), CopyError> {
    let spec = SandboxSpec {
        argv: Vec::new(),
        init_program: None,
        own_cgroup: false,
        net: crate::profile::NetMode::None,
        publish: Vec::new(),
        host_loopback: false,
        ..spec.clone()
    };
    let signals = sandbox::launcher_signals();
    sandbox::take_signals(&signals)?;
    let mut started = sandbox::start(&spec, &signals)?;
    let result = match started.wait_until_running() {
        Some(report) => Err(LaunchError::Inside(report).into()),
        None => sys::pidfd_open(started.init)
            .map_err(CopyError::Helper)
            .and_then(|pidfd| body(pidfd.as_fd())),
    };
    // The idle init ends on SIGTERM; the sandbox's mounts go with its namespaces.
    let _ = sys::kill(started.init, libc::SIGTERM);
    let _ = nix::sys::wait::waitpid(started.init, None);
    result
}

/// Fork the helper, which joins the environment behind `pidfd` and does `job`; wait for it.
fn run_helper(spec: &SandboxSpec, pidfd: BorrowedFd<'_>, job: Job) -> Result<(), CopyError> {
    let (reader, writer) = channel::report_pipe().map_err(CopyError::Helper)?;
    let capabilities = spec.capabilities;
    // SAFETY: `hutch cp` starts no thread (see `crate::child`).
    let helper = match unsafe { sys::fork() }.map_err(CopyError::Helper)? {
        None => crate::child::run("the copy's helper", || {
            drop(reader);
            helper(pidfd, capabilities, job, writer)
        }),
        Some(helper) => helper,
    };
    drop(writer);
    drop(job);
    let report = reader.wait_until_running();
    let status = nix::sys::wait::waitpid(helper, None);
    match (report, status) {
        (Some(report), _) => Err(CopyError::Inside {
            message: report.message,
        }),
        (None, Ok(nix::sys::wait::WaitStatus::Exited(_, 0))) => Ok(()),
        (None, status) => Err(CopyError::Inside {
            message: format!("the copy's helper ended unexpectedly: {status:?}"),
        }),
    }
}

/// The helper: joins the environment's user and mount namespaces and copies. Its status: 0, or
/// 125 with the failure on `report`.
fn helper(
    pidfd: BorrowedFd<'_>,
    capabilities: crate::caps::CapSet,
    job: Job,
    report: ReportWriter,
) -> i32 {
    let result = (|| -> Result<(), String> {
        // Non-dumpable before joining, and again after: joining the user namespace resets the
        // flag (prctl(2), PR_SET_DUMPABLE). See `join::exec`.
        sys::set_dumpable(false).map_err(|e| e.to_string())?;
        sys::setns(pidfd, CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("cannot join the environment: {e}"))?;
        sys::set_dumpable(false).map_err(|e| e.to_string())?;
        // What the environment's own user may do, no more: joining gave every capability in
        // its user namespace.
        crate::caps::restrict_to(capabilities).map_err(|e| crate::error::render(&e, None))?;
        // setns(2) into a mount namespace makes its root this process's root.
        let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
            .map_err(|e| errno("open(/)".into(), e).to_string())?;
        match job {
            Job::In { source, name, dst } => {
                let (dir, name) = env_destination(root.as_fd(), &dst, name)?;
                copy_opened(source, dir.as_fd(), &name, &dst.join(&name))
            }
            Job::Out { src, dir, name } => {
                let rel = crate::mounts::target::relative(&src);
                let source = sys::open_in_root(root.as_fd(), &rel, source_flags())
                    .map_err(|e| format!("{} in the environment: {}", src.display(), e.errno))?;
                copy_opened(source, dir.as_fd(), &name, &src)
            }
        }
    })();
    match result {
        Ok(()) => 0,
        Err(message) => {
            report.failed(125, &message);
            125
        }
    }
}

/// Where in the environment the copy goes: into `dst` when it is a directory, else `dst` itself.
fn env_destination(
    root: BorrowedFd<'_>,
    dst: &Path,
    name: OsString,
) -> Result<(OwnedFd, OsString), String> {
    let rel = crate::mounts::target::relative(dst);
    let flags = OFlags::PATH | OFlags::DIRECTORY;
    match sys::open_in_root(root, &rel, flags) {
        Ok(dir) => Ok((dir, name)),
        Err(e) if matches!(e.errno, Errno::ENOENT | Errno::ENOTDIR) => {
            let Some((parent, name)) = crate::mounts::target::split_last(&rel) else {
                return Err(format!("{} in the environment: {}", dst.display(), e.errno));
            };
            let dir = sys::open_in_root(root, &parent, flags).map_err(|e| {
                let parent = crate::mounts::target::shown(&parent);
                format!("{} in the environment: {}", parent.display(), e.errno)
            })?;
            Ok((dir, name.to_owned()))
        }
        Err(e) => Err(format!("{} in the environment: {}", dst.display(), e.errno)),
    }
}

/// How a source is opened: read-only, never blocking (a FIFO opens at once, and is then
/// refused), never becoming a controlling terminal.
fn source_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

fn errno(call: String, e: rustix::io::Errno) -> SysError {
    SysError {
        call,
        errno: Errno::from_raw(e.raw_os_error()),
    }
}

/// Copy what `source` is open on to `name` in `dir`; `shown` names the source in errors.
fn copy_opened(
    source: OwnedFd,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
) -> Result<(), String> {
    let stat = rustix::fs::fstat(&source).map_err(|e| format!("{}: {e}", shown.display()))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => copy_dir(&source, &stat, dir, name, shown),
        FileType::RegularFile => copy_file(source, &stat, dir, name, shown),
        other => Err(not_copied(shown, other)),
    }
}

fn not_copied(shown: &Path, kind: FileType) -> String {
    format!(
        "{} is a {}: hutch cp copies regular files, directories and symlinks only",
        shown.display(),
        match kind {
            FileType::Fifo => "FIFO",
            FileType::CharacterDevice => "character device",
            FileType::BlockDevice => "block device",
            FileType::Socket => "socket",
            _ => "special file",
        }
    )
}

/// Permission bits to give a copy: set-user-ID and set-group-ID are not carried across.
fn copied_mode(mode: u32) -> Mode {
    Mode::from_raw_mode(mode & 0o1777)
}

fn times(stat: &rustix::fs::Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: stat.st_atime as _,
            tv_nsec: stat.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: stat.st_mtime as _,
            tv_nsec: stat.st_mtime_nsec as _,
        },
    }
}

fn copy_file(
    source: OwnedFd,
    stat: &rustix::fs::Stat,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
) -> Result<(), String> {
    let target = dir_entry_shown(shown, name);
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", target.display());
    // An existing destination must be a regular file: opening a FIFO for writing would block,
    // a device could act. O_NONBLOCK covers one swapped in after the check.
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(existing) => match FileType::from_raw_mode(existing.st_mode) {
            FileType::RegularFile => {}
            FileType::Symlink => {
                return Err(format!(
                    "{} is a symlink; hutch cp does not write through one: remove it first",
                    target.display()
                ))
            }
            other => return Err(not_copied(&target, other).replace("copies", "writes")),
        },
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(fail("cannot stat", &e)),
    }
    let out = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::TRUNC
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC,
        copied_mode(stat.st_mode),
    )
    .map_err(|e| fail("cannot create", &e))?;
    let opened = rustix::fs::fstat(&out).map_err(|e| fail("cannot stat", &e))?;
    if FileType::from_raw_mode(opened.st_mode) != FileType::RegularFile {
        return Err(not_copied(&target, FileType::from_raw_mode(opened.st_mode)));
    }
    let (mut from, mut to) = (File::from(source), File::from(out));
    std::io::copy(&mut from, &mut to).map_err(|e| fail("cannot write", &e))?;
    rustix::fs::fchmod(&to, copied_mode(stat.st_mode)).map_err(|e| fail("cannot chmod", &e))?;
    rustix::fs::futimens(&to, &times(stat)).map_err(|e| fail("cannot set the times of", &e))?;
    Ok(())
}

fn copy_dir(
    source: &OwnedFd,
    stat: &rustix::fs::Stat,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
) -> Result<(), String> {
    let target = dir_entry_shown(shown, name);
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", target.display());
    // Writable while it is filled; its own mode once it is.
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(fail("cannot make", &e)),
    }
    let out = crate::sys::at::open_entry_nofollow(dir, name, &target).map_err(|e| {
        if e.errno == Errno::ELOOP {
            format!(
                "{} is a symlink; hutch cp does not write through one: remove it first",
                target.display()
            )
        } else {
            e.to_string()
        }
    })?;
    let is_dir = rustix::fs::fstat(&out)
        .map(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)
        .map_err(|e| fail("cannot stat", &e))?;
    if !is_dir {
        return Err(format!(
            "{} exists and is not a directory; a directory is copied into a directory",
            target.display()
        ));
    }
    for (entry, kind) in
        crate::sys::at::list_dir(source.as_fd(), shown).map_err(|e| e.to_string())?
    {
        let entry_shown = shown.join(&entry);
        match kind {
            crate::sys::at::EntryKind::Symlink(link_target) => {
                match rustix::fs::unlinkat(out.as_fd(), &entry, AtFlags::empty()) {
                    Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                    Err(e) => return Err(format!("cannot replace {}: {e}", entry_shown.display())),
                }
                rustix::fs::symlinkat(&link_target, out.as_fd(), &entry)
                    .map_err(|e| format!("cannot make {}: {e}", entry_shown.display()))?;
            }
            crate::sys::at::EntryKind::Dir | crate::sys::at::EntryKind::Other => {
                // Opened without following anything, and without blocking on a FIFO.
                let child = rustix::fs::openat2(
                    source,
                    &entry,
                    source_flags(),
                    Mode::empty(),
                    rustix::fs::ResolveFlags::BENEATH | rustix::fs::ResolveFlags::NO_SYMLINKS,
                )
                .map_err(|e| format!("{}: {e}", entry_shown.display()))?;
                copy_opened(child, out.as_fd(), &entry, &entry_shown)?;
            }
        }
    }
    // The times last: making the entries changed them.
    let filled = reopen_for_metadata(&out)?;
    rustix::fs::fchmod(&filled, copied_mode(stat.st_mode)).map_err(|e| fail("cannot chmod", &e))?;
    rustix::fs::futimens(&filled, &times(stat)).map_err(|e| fail("cannot set the times of", &e))?;
    Ok(())
}

/// fchmod(2) needs a descriptor that is not `O_PATH`.
fn reopen_for_metadata(dir: &OwnedFd) -> Result<OwnedFd, String> {
    rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open a directory made by the copy: {e}"))
}

/// The destination entry `name`, for errors: shown as the source's path with its last name
/// replaced.
fn dir_entry_shown(shown: &Path, name: &OsStr) -> PathBuf {
    shown.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_an_environment_or_the_host() {
        assert_eq!(
            Location::parse(OsStr::new("dev:/etc/hosts")),
            Location::Env {
                name: "dev".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(
            Location::parse(OsStr::new("dev:")),
            Location::Env {
                name: "dev".into(),
                path: "".into()
            }
        );
        for host in ["./a:b", "/x:y", "notes.txt", "../up"] {
            assert_eq!(
                Location::parse(OsStr::new(host)),
                Location::Host(host.into()),
                "{host}"
            );
        }
        assert_eq!(absolute_inside(Path::new("root/x")), Path::new("/root/x"));
        assert_eq!(file_name(Path::new("/a/b")).unwrap(), "b");
        assert!(file_name(Path::new("/")).is_err());
        assert!(file_name(Path::new("a/..")).is_err());
    }

    /// The tree copy on plain directories (no namespaces): modes kept, set-id dropped,
    /// symlinks copied as they are, FIFOs refused on either side.
    #[test]
    fn trees_copy_by_descriptor() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(src.join("sub/run"), std::fs::Permissions::from_mode(0o4755))
            .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let out_fd =
            rustix::fs::open(&out, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let source = rustix::fs::open(&src, source_flags(), Mode::empty()).unwrap();
        copy_opened(source, out_fd.as_fd(), OsStr::new("copy"), &src).unwrap();
        let copy = out.join("copy");
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&copy), 0o750);
        assert_eq!(mode(&copy.join("sub/run")), 0o755);
        assert_eq!(
            std::fs::read_to_string(copy.join("sub/run")).unwrap(),
            "#!/bin/sh\n"
        );
        assert_eq!(
            std::fs::read_link(copy.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        // A FIFO as the source or in the destination's place: refused, never opened to block.
        nix::unistd::mkfifo(
            &src.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let source = rustix::fs::open(&src, source_flags(), Mode::empty()).unwrap();
        let err = copy_opened(source, out_fd.as_fd(), OsStr::new("copy2"), &src).unwrap_err();
        assert!(err.contains("is a FIFO"), "{err}");
        nix::unistd::mkfifo(
            &out.join("f"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let source = rustix::fs::open(src.join("sub/run"), source_flags(), Mode::empty()).unwrap();
        let err = copy_opened(source, out_fd.as_fd(), OsStr::new("f"), &src).unwrap_err();
        assert!(err.contains("is a FIFO"), "{err}");
        // A symlink in the destination's place is not written through.
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), out.join("l")).unwrap();
        let source = rustix::fs::open(src.join("sub/run"), source_flags(), Mode::empty()).unwrap();
        let err = copy_opened(source, out_fd.as_fd(), OsStr::new("l"), &src).unwrap_err();
        assert!(err.contains("is a symlink"), "{err}");
        assert!(!dir.path().join("elsewhere").exists());
    }
}
