//! Writing an image's files: one [`Item`] at a time, every name resolved *inside* the image.
//!
//! # Why openat2 and not a chroot
//! Every directory an entry goes into is opened with openat2(2) `RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS` relative to the image's root (see [`crate::sys::open_in_root`]): the
//! kernel resolves absolute symlinks and `..` as if the image's root were `/`, so no name and no
//! symlink planted earlier in the archive can lead outside — the same guarantee a chroot gives,
//! but without moving the process, so a directory source and the store stay reachable and
//! nothing depends on a later chroot escape never happening. The last component is then created
//! with the `*at` calls that never follow it (`O_CREAT|O_EXCL|O_NOFOLLOW`, `mkdirat`,
//! `symlinkat`, `linkat` without `AT_SYMLINK_FOLLOW`, `AT_SYMLINK_NOFOLLOW`).
//!
//! # What happens to hostile or odd entries
//! - Absolute names (`/etc/passwd`) are taken relative to the image's root, as GNU tar does.
//! - Names or hard-link targets with a `..` component are skipped, counted and reported: no
//!   well-formed root file system has them, and GNU tar skips them too.
//! - Symlinks are stored as they are (`/etc/alternatives/x` is normal in a root file system);
//!   when a later entry's path goes through one, it is followed *within* the image (as Docker's
//!   layer extraction does), so "write through a planted symlink" lands inside the image.
//! - A hard link resolves its target within the image too; a target that is not there, or a
//!   parent that is a dangling symlink or a file, fails the import (exit 125, nothing left).
//! - Device nodes cannot be made in a user namespace: skipped and counted. FIFOs are made.
//! - Owners beyond the mapped ids become root (counted); extended attributes the kernel refuses
//!   in a user namespace (`trusted.*`, often `security.selinux`) are counted, the rest kept.
//!
//! Layers (OCI, docker-archive) add whiteouts: `.wh.NAME` removes NAME from the layers below,
//! `.wh..wh..opq` empties its directory of everything the layers below put there.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::sys;

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
const BUFFER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{}: {step}", show(path))]
    Entry {
        path: PathBuf,
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: the archive ends inside this file ({got} of {size} bytes): truncated",
        show(path)
    )]
    Truncated { path: PathBuf, got: u64, size: u64 },
}

fn show(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        "/".into()
    } else {
        format!("/{}", path.display())
    }
}

fn entry_error(path: &Path, step: impl Into<String>) -> impl FnOnce(Errno) -> ExtractError {
    let path = path.to_owned();
    let step = step.into();
    move |errno| ExtractError::Entry {
        path,
        step,
        source: errno.into(),
    }
}

fn sys_error(path: &Path) -> impl FnOnce(sys::SysError) -> ExtractError {
    let path = path.to_owned();
    move |e| ExtractError::Entry {
        path,
        step: e.call,
        source: std::io::Error::from_raw_os_error(e.errno as i32),
    }
}

/// What was written and what was left out; the importer turns it into warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Entries written (files, directories, links, FIFOs).
    pub entries: u64,
    /// Bytes in regular files.
    pub bytes: u64,
    pub devices: u64,
    /// Entries skipped for a `..` in their name or link target; the first one's name.
    pub dotdot: u64,
    pub dotdot_example: Option<String>,
    /// Entries whose absolute names were made relative.
    pub absolute: u64,
    /// Entries whose owner or group was beyond the mapped ids, now root.
    pub unmapped_owners: u64,
    pub xattrs_failed: u64,
    pub xattr_example: Option<String>,
    pub whiteouts: u64,
    /// Entries of kinds a root file system has no use for (sockets, unknown tar types).
    pub unsupported: u64,
}

/// One file system object to create.
pub struct Item<'a> {
    /// The name as the archive gives it.
    pub path: &'a Path,
    pub kind: Kind<'a>,
    pub uid: u64,
    pub gid: u64,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// (name, value) pairs.
    pub xattrs: Vec<(OsString, Vec<u8>)>,
}

pub enum Kind<'a> {
    Dir,
    File {
        data: &'a mut dyn Read,
        size: u64,
    },
    Symlink(PathBuf),
    /// A hard link to another entry, named as in the archive.
    Hardlink(PathBuf),
    Fifo,
    Device,
    Unsupported,
}

enum Name {
    Root,
    Inside(PathBuf),
    DotDot,
}

/// The name relative to the image's root: leading `/` and `.` dropped, `..` refused.
fn clean(raw: &Path) -> (Name, bool) {
    let mut out = PathBuf::new();
    let mut absolute = false;
    for component in raw.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => absolute = true,
            Component::CurDir => {}
            Component::ParentDir => return (Name::DotDot, absolute),
            Component::Normal(part) => out.push(part),
        }
    }
    if out.as_os_str().is_empty() {
        (Name::Root, absolute)
    } else {
        (Name::Inside(out), absolute)
    }
}

fn split(rel: &Path) -> (&Path, &OsStr) {
    (
        rel.parent().unwrap_or(Path::new("")),
        rel.file_name()
            .expect("a cleaned, non-root path has a last component"),
    )
}

fn times(mtime: i64) -> Timestamps {
    let t = rustix::fs::Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Writes items into an image root; see the module documentation.
pub struct Extractor {
    root: OwnedFd,
    mapped_uids: u64,
    mapped_gids: u64,
    /// The directory the last entry went into: entries of a directory come together.
    cache: Option<(PathBuf, Rc<OwnedFd>)>,
    /// Directory modification times, set at the end (adding entries changes them).
    dir_times: Vec<(PathBuf, i64)>,
    /// Paths written by the current layer, for opaque directories; `None` outside layers.
    layer: Option<HashSet<PathBuf>>,
    buffer: Vec<u8>,
    pub summary: Summary,
}

impl Extractor {
    /// Create the (empty) root directory `rootfs` and write below it. `mapped_*` ids from 0
    /// exist in this user namespace.
    pub fn create(rootfs: &Path, mapped_uids: u64, mapped_gids: u64) -> Result<Self, ExtractError> {
        let fail = |step: &str| entry_error(Path::new(""), format!("{step} {}", rootfs.display()));
        rustix::fs::mkdir(rootfs, Mode::from_raw_mode(0o755)).map_err(fail("mkdir"))?;
        let root = rustix::fs::open(
            rootfs,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(fail("open"))?;
        Ok(Extractor {
            root,
            mapped_uids,
            mapped_gids,
            cache: None,
            dir_times: Vec::new(),
            layer: None,
            buffer: vec![0; BUFFER],
            summary: Summary::default(),
        })
    }

    /// The following items form one layer over what is there (whiteouts apply).
    pub fn begin_layer(&mut self) {
        self.layer = Some(HashSet::new());
    }

    pub fn add(&mut self, item: Item<'_>) -> Result<(), ExtractError> {
        let (name, absolute) = clean(item.path);
        self.summary.absolute += u64::from(absolute);
        let rel = match name {
            Name::DotDot => {
                self.skip_dotdot(item.path);
                return Ok(());
            }
            Name::Root => {
                if matches!(item.kind, Kind::Dir) {
                    let root = rustix::io::dup(&self.root)
                        .map_err(entry_error(Path::new(""), "dup(root)"))?;
                    self.set_dir_meta(Path::new(""), root, &item)?;
                }
                return Ok(());
            }
            Name::Inside(rel) => rel,
        };
        if self.layer.is_some() {
            let last = rel.file_name().map_or(&[][..], |n| n.as_bytes());
            if last == OPAQUE {
                self.summary.whiteouts += 1;
                return self.opaque(rel.parent().unwrap_or(Path::new("")));
            }
            if let Some(hidden) = last.strip_prefix(WHITEOUT) {
                self.summary.whiteouts += 1;
                let (dir, _) = split(&rel);
                return self.whiteout(dir, OsStr::from_bytes(hidden));
            }
            if let Some(layer) = &mut self.layer {
                layer.insert(rel.clone());
            }
        }
        match item.kind {
            Kind::Device => {
                self.summary.devices += 1;
                return Ok(());
            }
            Kind::Unsupported => {
                self.summary.unsupported += 1;
                return Ok(());
            }
            _ => {}
        }
        let (dir_rel, name) = split(&rel);
        let dir = self.directory(dir_rel)?;
        let (uid, gid) = self.owner(item.uid, item.gid);
        match &item.kind {
            Kind::Dir => {
                let made = rustix::fs::mkdirat(&*dir, name, Mode::from_raw_mode(0o700));
                match made {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        if !self.make_room(&dir, name, &rel, true)? {
                            rustix::fs::mkdirat(&*dir, name, Mode::from_raw_mode(0o700))
                                .map_err(entry_error(&rel, "mkdir"))?;
                        }
                    }
                    Err(e) => return Err(entry_error(&rel, "mkdir")(e)),
                }
                let fd = rustix::fs::openat(
                    &*dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(entry_error(&rel, "open directory"))?;
                self.set_dir_meta(&rel, fd, &item)?;
            }
            Kind::File { .. } => {
                let flags = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                let mode = Mode::from_raw_mode(0o600);
                let fd = match rustix::fs::openat(&*dir, name, flags, mode) {
                    Err(Errno::EXIST) => {
                        self.make_room(&dir, name, &rel, false)?;
                        rustix::fs::openat(&*dir, name, flags, mode)
                    }
                    other => other,
                }
                .map_err(entry_error(&rel, "create"))?;
                let Kind::File { data, size } = item.kind else {
                    unreachable!("matched above")
                };
                let mut file = File::from(fd);
                let got = self.copy(&rel, data, &mut file)?;
                if got != size {
                    return Err(ExtractError::Truncated {
                        path: rel,
                        got,
                        size,
                    });
                }
                self.summary.bytes += size;
                // chown before chmod: chown(2) clears the setuid and setgid bits.
                rustix::fs::fchown(&file, Some(uid), Some(gid))
                    .map_err(entry_error(&rel, "chown"))?;
                rustix::fs::fchmod(&file, Mode::from_raw_mode(item.mode & 0o7777))
                    .map_err(entry_error(&rel, "chmod"))?;
                // After chown, which drops security.capability.
                self.set_xattrs(&rel, file.as_fd(), &item.xattrs);
                rustix::fs::futimens(&file, &times(item.mtime))
                    .map_err(entry_error(&rel, "set times"))?;
            }
            Kind::Symlink(target) => {
                match rustix::fs::symlinkat(target.as_path(), &*dir, name) {
                    Err(Errno::EXIST) => {
                        self.make_room(&dir, name, &rel, false)?;
                        rustix::fs::symlinkat(target.as_path(), &*dir, name)
                    }
                    other => other,
                }
                .map_err(entry_error(&rel, "symlink"))?;
                rustix::fs::chownat(&*dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(entry_error(&rel, "chown"))?;
                rustix::fs::utimensat(&*dir, name, &times(item.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(entry_error(&rel, "set times"))?;
            }
            Kind::Hardlink(target) => {
                let target_rel = match clean(target) {
                    (Name::Inside(t), _) => t,
                    (Name::DotDot, _) => {
                        self.skip_dotdot(item.path);
                        return Ok(());
                    }
                    (Name::Root, _) => {
                        return Err(entry_error(&rel, "hard link to the root directory")(
                            Errno::PERM,
                        ))
                    }
                };
                if target_rel == rel {
                    return Ok(());
                }
                let (target_dir_rel, target_name) = split(&target_rel);
                let step = format!("hard link to /{}", target_rel.display());
                let target_dir = sys::open_in_root(
                    self.root.as_fd(),
                    target_dir_rel,
                    OFlags::PATH | OFlags::DIRECTORY,
                )
                .map_err(|e| {
                    entry_error(&rel, step.clone())(Errno::from_raw_os_error(e.errno as i32))
                })?;
                let link = |dir: &OwnedFd| {
                    rustix::fs::linkat(&target_dir, target_name, dir, name, AtFlags::empty())
                };
                match link(&dir) {
                    Err(Errno::EXIST) => {
                        self.make_room(&dir, name, &rel, false)?;
                        link(&dir)
                    }
                    other => other,
                }
                .map_err(entry_error(&rel, step))?;
            }
            Kind::Fifo => {
                let mode = Mode::from_raw_mode(item.mode & 0o7777);
                match rustix::fs::mknodat(&*dir, name, FileType::Fifo, mode, 0) {
                    Err(Errno::EXIST) => {
                        self.make_room(&dir, name, &rel, false)?;
                        rustix::fs::mknodat(&*dir, name, FileType::Fifo, mode, 0)
                    }
                    other => other,
                }
                .map_err(entry_error(&rel, "mkfifo"))?;
                rustix::fs::chownat(&*dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(entry_error(&rel, "chown"))?;
                rustix::fs::chmodat(&*dir, name, mode, AtFlags::empty())
                    .map_err(entry_error(&rel, "chmod"))?;
                rustix::fs::utimensat(&*dir, name, &times(item.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(entry_error(&rel, "set times"))?;
            }
            Kind::Device | Kind::Unsupported => unreachable!("handled above"),
        }
        self.summary.entries += 1;
        Ok(())
    }

    /// Set the directories' modification times, now that nothing is added to them any more.
    pub fn finish(mut self) -> Result<Summary, ExtractError> {
        for (rel, mtime) in std::mem::take(&mut self.dir_times) {
            let fd = if rel.as_os_str().is_empty() {
                rustix::io::dup(&self.root).map_err(entry_error(&rel, "dup(root)"))?
            } else {
                match sys::open_in_root(self.root.as_fd(), &rel, OFlags::RDONLY | OFlags::DIRECTORY)
                {
                    Ok(fd) => fd,
                    // Replaced or removed by a later entry or layer.
                    Err(_) => continue,
                }
            };
            rustix::fs::futimens(&fd, &times(mtime)).map_err(entry_error(&rel, "set times"))?;
        }
        Ok(self.summary)
    }

    fn skip_dotdot(&mut self, raw: &Path) {
        self.summary.dotdot += 1;
        self.summary
            .dotdot_example
            .get_or_insert_with(|| raw.display().to_string());
    }

    fn owner(&mut self, uid: u64, gid: u64) -> (Uid, Gid) {
        let fits = uid < self.mapped_uids && gid < self.mapped_gids;
        if !fits {
            self.summary.unmapped_owners += 1;
        }
        let pick = |id: u64, mapped: u64| if id < mapped { id as u32 } else { 0 };
        (
            Uid::from_raw(pick(uid, self.mapped_uids)),
            Gid::from_raw(pick(gid, self.mapped_gids)),
        )
    }

    fn set_dir_meta(
        &mut self,
        rel: &Path,
        fd: OwnedFd,
        item: &Item<'_>,
    ) -> Result<(), ExtractError> {
        let (uid, gid) = self.owner(item.uid, item.gid);
        rustix::fs::fchown(&fd, Some(uid), Some(gid)).map_err(entry_error(rel, "chown"))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(item.mode & 0o7777))
            .map_err(entry_error(rel, "chmod"))?;
        self.set_xattrs(rel, fd.as_fd(), &item.xattrs);
        self.dir_times.push((rel.to_owned(), item.mtime));
        Ok(())
    }

    fn set_xattrs(&mut self, rel: &Path, fd: BorrowedFd<'_>, xattrs: &[(OsString, Vec<u8>)]) {
        for (name, value) in xattrs {
            if let Err(e) = rustix::fs::fsetxattr(fd, name.as_os_str(), value, XattrFlags::empty())
            {
                self.summary.xattrs_failed += 1;
                self.summary.xattr_example.get_or_insert_with(|| {
                    format!("{} on {}: {e}", name.to_string_lossy(), show(rel))
                });
            }
        }
    }

    fn copy(
        &mut self,
        rel: &Path,
        data: &mut dyn Read,
        file: &mut File,
    ) -> Result<u64, ExtractError> {
        let mut got = 0u64;
        loop {
            let n = match data.read(&mut self.buffer) {
                Ok(0) => return Ok(got),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ExtractError::Entry {
                        path: rel.to_owned(),
                        step: "read from the archive".into(),
                        source,
                    })
                }
            };
            file.write_all(&self.buffer[..n])
                .map_err(|source| ExtractError::Entry {
                    path: rel.to_owned(),
                    step: "write".into(),
                    source,
                })?;
            got += n as u64;
        }
    }

    /// The directory `rel` inside the image, made (0755, root) with its parents if missing.
    fn directory(&mut self, rel: &Path) -> Result<Rc<OwnedFd>, ExtractError> {
        if let Some((cached, fd)) = &self.cache {
            if cached == rel {
                return Ok(Rc::clone(fd));
            }
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        let fd = match sys::open_in_root(self.root.as_fd(), rel, flags) {
            Ok(fd) => fd,
            Err(e) if e.errno == sys::Errno::ENOENT => {
                let mut done = PathBuf::new();
                for part in rel.components() {
                    let next = done.join(part);
                    if let Err(e) = sys::open_in_root(self.root.as_fd(), &next, flags) {
                        if e.errno != sys::Errno::ENOENT {
                            return Err(sys_error(rel)(e));
                        }
                        let parent = sys::open_in_root(self.root.as_fd(), &done, flags)
                            .map_err(sys_error(rel))?;
                        match rustix::fs::mkdirat(
                            &parent,
                            part.as_os_str(),
                            Mode::from_raw_mode(0o755),
                        ) {
                            // EEXIST: a dangling symlink; the open below says so.
                            Ok(()) | Err(Errno::EXIST) => {}
                            Err(e) => return Err(entry_error(&next, "mkdir")(e)),
                        }
                    }
                    done = next;
                }
                sys::open_in_root(self.root.as_fd(), rel, flags).map_err(sys_error(rel))?
            }
            Err(e) => return Err(sys_error(rel)(e)),
        };
        let fd = Rc::new(fd);
        self.cache = Some((rel.to_owned(), Rc::clone(&fd)));
        Ok(fd)
    }

    /// Clear the way for a new entry at `name` in `dir`: keep an existing directory if
    /// `keep_dir` (returns true), otherwise remove whatever is there.
    fn make_room(
        &mut self,
        dir: &OwnedFd,
        name: &OsStr,
        rel: &Path,
        keep_dir: bool,
    ) -> Result<bool, ExtractError> {
        let stat = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(entry_error(rel, "stat")(e)),
        };
        let is_dir = FileType::from_raw_mode(stat.st_mode) == FileType::Directory;
        if is_dir && keep_dir {
            return Ok(true);
        }
        // Whatever a cached path went through may be about to go.
        self.cache = None;
        remove_at(dir, name, is_dir).map_err(entry_error(rel, "remove the old entry"))?;
        Ok(false)
    }

    /// `.wh.NAME`: remove NAME (and everything below it) from the layers below.
    fn whiteout(&mut self, dir_rel: &Path, hidden: &OsStr) -> Result<(), ExtractError> {
        self.cache = None;
        let rel = dir_rel.join(hidden);
        let dir =
            match sys::open_in_root(self.root.as_fd(), dir_rel, OFlags::PATH | OFlags::DIRECTORY) {
                Ok(dir) => dir,
                Err(e) if matches!(e.errno, sys::Errno::ENOENT | sys::Errno::ENOTDIR) => {
                    return Ok(())
                }
                Err(e) => return Err(sys_error(&rel)(e)),
            };
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Ok(());
        }
        match rustix::fs::statat(&dir, hidden, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => {
                let is_dir = FileType::from_raw_mode(stat.st_mode) == FileType::Directory;
                remove_at(&dir, hidden, is_dir).map_err(entry_error(&rel, "remove (whiteout)"))
            }
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(entry_error(&rel, "stat (whiteout)")(e)),
        }
    }

    /// `.wh..wh..opq`: empty `dir_rel` of what lower layers put there.
    fn opaque(&mut self, dir_rel: &Path) -> Result<(), ExtractError> {
        self.cache = None;
        let dir = match sys::open_in_root(
            self.root.as_fd(),
            dir_rel,
            OFlags::RDONLY | OFlags::DIRECTORY,
        ) {
            Ok(dir) => dir,
            Err(e) if matches!(e.errno, sys::Errno::ENOENT | sys::Errno::ENOTDIR) => return Ok(()),
            Err(e) => return Err(sys_error(dir_rel)(e)),
        };
        let this_layer = self.layer.as_ref().expect("only in layers");
        let mut doomed = Vec::new();
        for entry in
            rustix::fs::Dir::read_from(&dir).map_err(entry_error(dir_rel, "read directory"))?
        {
            let entry = entry.map_err(entry_error(dir_rel, "read directory"))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_owned();
            if name == "." || name == ".." || this_layer.contains(&dir_rel.join(&name)) {
                continue;
            }
            doomed.push((name, entry.file_type() == FileType::Directory));
        }
        for (name, is_dir) in doomed {
            remove_at(&dir, &name, is_dir).map_err(entry_error(
                &dir_rel.join(&name),
                "remove (opaque directory)",
            ))?;
        }
        Ok(())
    }
}

/// Remove `name` in `dir`, a whole tree if it is a directory; never follows symlinks.
pub fn remove_at(dir: &OwnedFd, name: &OsStr, is_dir: bool) -> Result<(), Errno> {
    if !is_dir {
        return rustix::fs::unlinkat(dir, name, AtFlags::empty());
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut children = Vec::new();
    for entry in rustix::fs::Dir::read_from(&sub)? {
        let entry = entry?;
        let child = OsStr::from_bytes(entry.file_name().to_bytes()).to_owned();
        if child != "." && child != ".." {
            children.push((child, entry.file_type()));
        }
    }
    for (child, kind) in children {
        let is_dir = match kind {
            FileType::Unknown => rustix::fs::statat(&sub, &child, AtFlags::SYMLINK_NOFOLLOW)
                .map(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)?,
            kind => kind == FileType::Directory,
        };
        remove_at(&sub, &child, is_dir)?;
    }
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
