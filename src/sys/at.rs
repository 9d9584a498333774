//! Calls relative to directory descriptors, and mounts made onto descriptors (the new mount
//! API: open_tree(2), fsopen(2), fsmount(2), move_mount(2), mount_setattr(2)).
//!
//! A path string is looked up again at every call, and whoever can write to a directory on it
//! can swap a component for a symlink in between; a descriptor stays what it was opened as.
//! `mounts` uses these to place every mount inside the sandbox's root by descriptor. Each takes
//! a `shown` path for its errors: the path as the user wrote it, or as seen inside the sandbox,
//! never the scratch paths the root is assembled under.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags};

use super::{Errno, SysError, SysResult};

/// The error for a failed call, named by `call` only when it failed: formatting every call's
/// name up front is measurable in a start-up that makes dozens.
fn failed(call: impl FnOnce() -> String) -> impl FnOnce(rustix::io::Errno) -> SysError {
    move |e| SysError {
        call: call(),
        errno: Errno::from_raw(e.raw_os_error()),
    }
}

/// Open `path` as an `O_PATH` directory descriptor. Only for paths hutch itself controls (the
/// scratch root it assembles the sandbox under).
pub fn open_dir(path: &Path, shown: &Path) -> SysResult<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(failed(|| format!("open({})", shown.display())))
}

/// Open `name`, one entry of `dir`, as `O_PATH`, refusing to follow a symlink at any step
/// (openat2 `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`): a symlink gives ELOOP. (Not `O_NOFOLLOW`:
/// with `O_PATH` it would open the symlink itself.)
pub fn open_entry_nofollow(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> SysResult<OwnedFd> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    rustix::fs::openat2(
        dir,
        name,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )
    .map_err(failed(|| {
        format!("openat2({}, RESOLVE_NO_SYMLINKS)", shown.display())
    }))
}

/// mkdirat(2): a directory `name` in `dir`. Never follows a symlink at `name` (EEXIST).
pub fn mkdir(dir: BorrowedFd<'_>, name: &OsStr, mode: u32, shown: &Path) -> SysResult<()> {
    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode))
        .map_err(failed(|| format!("mkdir({})", shown.display())))
}

/// An empty regular file `name` in `dir`, made with `O_CREAT | O_EXCL | O_NOFOLLOW`, and the
/// descriptor it was made with: an existing entry (a symlink included) gives EEXIST and is never
/// opened — opening a device can act.
pub fn create_file(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    mode: u32,
    shown: &Path,
) -> SysResult<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )
    .map_err(failed(|| format!("create({})", shown.display())))
}

/// symlinkat(2): a symlink `name` in `dir` pointing to `target`.
pub fn symlink(target: &Path, dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> SysResult<()> {
    rustix::fs::symlinkat(target, dir, name).map_err(failed(|| {
        format!("symlink({} -> {})", shown.display(), target.display())
    }))
}

/// readlinkat(2): where the symlink `name` in `dir` points.
pub fn read_link(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> SysResult<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    rustix::fs::readlinkat(dir, name, Vec::new())
        .map(|target| PathBuf::from(std::ffi::OsString::from_vec(target.into_bytes())))
        .map_err(failed(|| format!("readlink({})", shown.display())))
}

/// Whether `fd` is a directory (fstat(2)).
pub fn is_dir(fd: BorrowedFd<'_>, shown: &Path) -> SysResult<bool> {
    rustix::fs::fstat(fd)
        .map(|stat| {
            rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Directory
        })
        .map_err(failed(|| format!("stat({})", shown.display())))
}

/// open_tree(2) with `OPEN_TREE_CLONE`: a detached copy of the mount at `source` (with every
/// mount below it when `recursive`), to be attached with [`attach`] — a bind mount in two steps.
pub fn clone_tree(source: &Path, recursive: bool, shown: &Path) -> SysResult<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    rustix::mount::open_tree(rustix::fs::CWD, source, flags).map_err(failed(|| {
        format!(
            "open_tree({}, OPEN_TREE_CLONE{})",
            shown.display(),
            if recursive { "|AT_RECURSIVE" } else { "" }
        )
    }))
}

/// [`clone_tree`] of what the descriptor `fd` is open on (`AT_EMPTY_PATH`): a detached copy of
/// a path already inside a new root, to be placed over itself with other attributes.
pub fn clone_tree_of(fd: BorrowedFd<'_>, recursive: bool, shown: &Path) -> SysResult<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_EMPTY_PATH;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    rustix::mount::open_tree(fd, "", flags).map_err(failed(|| {
        format!(
            "open_tree({}, OPEN_TREE_CLONE|AT_EMPTY_PATH)",
            shown.display()
        )
    }))
}

/// One setting of a new file system's context (fsconfig(2)).
#[derive(Debug, Clone, Copy)]
pub enum FsOption<'a> {
    Flag(&'a str),
    String(&'a str, &'a str),
}

impl FsOption<'_> {
    fn key(&self) -> &str {
        match *self {
            FsOption::Flag(key) | FsOption::String(key, _) => key,
        }
    }
}

/// A new, detached mount of file system `fstype` (fsopen(2), fsconfig(2), fsmount(2)) with the
/// `MOUNT_ATTR_*` bits `attrs`. `shown` says what it is in errors (option values may hold paths
/// that only exist while the root is built).
pub fn new_mount(
    fstype: &str,
    options: &[FsOption<'_>],
    attrs: u64,
    shown: &str,
) -> SysResult<OwnedFd> {
    let context = rustix::mount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(failed(|| format!("fsopen({fstype:?})")))?;
    for option in options {
        match *option {
            FsOption::Flag(key) => rustix::mount::fsconfig_set_flag(&context, key),
            FsOption::String(key, value) => {
                rustix::mount::fsconfig_set_string(&context, key, value)
            }
        }
        // The key only: values may be paths of the scratch root (`/oldroot/...`).
        .map_err(failed(|| format!("fsconfig({shown}, {})", option.key())))?;
    }
    rustix::mount::fsconfig_create(&context)
        .map_err(failed(|| format!("fsconfig({shown}, FSCONFIG_CMD_CREATE)")))?;
    rustix::mount::fsmount(
        &context,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::from_bits_retain(attrs as _),
    )
    .map_err(failed(|| format!("fsmount({shown}, {attrs:#x})")))
}

/// move_mount(2) of the detached mount `mount` onto the file or directory `target` is open on.
pub fn attach(mount: BorrowedFd<'_>, target: BorrowedFd<'_>, shown: &Path) -> SysResult<()> {
    rustix::mount::move_mount(
        mount,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(failed(|| format!("move_mount(onto {})", shown.display())))
}

/// mount_setattr(2) with `AT_EMPTY_PATH`: set the `MOUNT_ATTR_*` bits `attr_set` on the mount
/// `fd` is open on (a detached one included) and, when `recursive`, on every mount below it.
/// Fails with ENOSYS on kernels before 5.12.
pub fn set_mount_attrs(
    fd: BorrowedFd<'_>,
    recursive: bool,
    attr_set: u64,
    shown: &Path,
) -> SysResult<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: the path is a static empty NUL-terminated string, `attr` a properly laid out
    // `struct mount_attr` whose size we pass; both outlive the call. `fd` is a live descriptor.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(SysError {
            call: format!(
                "mount_setattr({}{}, {attr_set:#x})",
                shown.display(),
                if recursive { ", AT_RECURSIVE" } else { "" }
            ),
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// Remount the mount `fd` is open on with `flags` (`MS_REMOUNT | MS_BIND` added), through its
/// magic link in `proc_fd_dir` (a `/proc/self/fd` directory): the way to change a mount's flags
/// by descriptor on kernels without mount_setattr(2).
pub fn remount(
    fd: BorrowedFd<'_>,
    flags: nix::mount::MsFlags,
    proc_fd_dir: &Path,
    shown: &Path,
) -> SysResult<()> {
    use nix::mount::MsFlags;
    let link = proc_fd_dir.join(fd.as_fd().as_raw_fd().to_string());
    nix::mount::mount(
        None::<&Path>,
        &link,
        None::<&str>,
        flags | MsFlags::MS_REMOUNT | MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|errno| SysError {
        call: format!("mount({}, MS_REMOUNT|MS_BIND, {flags:?})", shown.display()),
        errno,
    })
}

/// Where the descriptor `fd` is, as the kernel names it (readlink of its `/proc/self/fd` link).
pub fn fd_path(fd: BorrowedFd<'_>, proc_fd_dir: &Path, shown: &Path) -> SysResult<PathBuf> {
    std::fs::read_link(proc_fd_dir.join(fd.as_raw_fd().to_string()))
        .map_err(|e| SysError::io(format!("readlink(fd of {})", shown.display()), &e))
}

/// openat2(2) with `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`: `path` inside `root`, as `O_PATH`,
/// through no symlink at all.
pub fn open_in_root_no_symlinks(
    root: BorrowedFd<'_>,
    path: &Path,
    shown: &Path,
) -> SysResult<OwnedFd> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    // The root itself: openat2 refuses an empty path.
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    rustix::fs::openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )
    .map_err(failed(|| {
        format!("openat2({}, RESOLVE_NO_SYMLINKS)", shown.display())
    }))
}

/// What an entry of a directory is, as far as placing a mount point for it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    Symlink(PathBuf),
    /// A regular file, a device, a socket or a FIFO: anything a file can be bound over.
    Other,
}

/// The entries of the directory `dir` is open on (`O_PATH` will do), `.` and `..` left out.
pub fn list_dir(
    dir: BorrowedFd<'_>,
    shown: &Path,
) -> SysResult<Vec<(std::ffi::OsString, EntryKind)>> {
    use std::os::unix::ffi::OsStrExt;
    let readable = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(failed(|| format!("open({})", shown.display())))?;
    let listing = rustix::fs::Dir::read_from(&readable)
        .map_err(failed(|| format!("opendir({})", shown.display())))?;
    let mut entries = Vec::new();
    for entry in listing {
        let entry = entry.map_err(failed(|| format!("readdir({})", shown.display())))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_owned();
        if name == "." || name == ".." {
            continue;
        }
        let entry_shown = shown.join(&name);
        let file_type = match entry.file_type() {
            rustix::fs::FileType::Unknown => {
                let stat = rustix::fs::statat(dir, &name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(failed(|| format!("stat({})", entry_shown.display())))?;
                rustix::fs::FileType::from_raw_mode(stat.st_mode)
            }
            known => known,
        };
        let kind = match file_type {
            rustix::fs::FileType::Directory => EntryKind::Dir,
            rustix::fs::FileType::Symlink => {
                EntryKind::Symlink(read_link(dir, &name, &entry_shown)?)
            }
            _ => EntryKind::Other,
        };
        entries.push((name, kind));
    }
    Ok(entries)
}

/// open_tree(2) `OPEN_TREE_CLONE | AT_RECURSIVE` of `name` in `dir`, never through a symlink at
/// `name`: a detached bind of one entry with every mount below it (mounts the host locked in a
/// user namespace can only be cloned together with what is below them).
pub fn clone_entry(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> SysResult<OwnedFd> {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_RECURSIVE
        | OpenTreeFlags::AT_SYMLINK_NOFOLLOW;
    rustix::mount::open_tree(dir, name, flags).map_err(failed(|| {
        format!(
            "open_tree({}, OPEN_TREE_CLONE|AT_RECURSIVE)",
            shown.display()
        )
    }))
}

/// The permission bits, owner and group of what `fd` is open on (fstat(2)).
pub fn mode_and_owner(fd: BorrowedFd<'_>, shown: &Path) -> SysResult<(u32, u32, u32)> {
    rustix::fs::fstat(fd)
        .map(|stat| (stat.st_mode & 0o7777, stat.st_uid, stat.st_gid))
        .map_err(failed(|| format!("stat({})", shown.display())))
}
