//! Mount destinations, resolved inside the sandbox's root and held as descriptors.
//!
//! While the root is built, the host's tree hangs at `/oldroot` of the scratch root. A
//! destination joined onto the new root as a string and looked up from there would follow any
//! symlink the sandbox (a writable bind, the `dev` profile's persistent home) or an image
//! planted — `sub -> /oldroot/home/USER/...` — out onto the host. Instead every destination is
//! looked up with openat2(2) `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` relative to a descriptor
//! of the new root: symlinks, absolute or climbing with `..`, are followed as in a chroot and
//! can never leave it, and /proc's magic links are refused. A missing component is made with
//! mkdirat(2) in the descriptor of its parent and then opened without following symlinks, so a
//! symlink swapped in meanwhile is never followed either; a dangling symlink is followed by
//! making its target, again inside the root. The mount then goes onto the descriptor. This is
//! what crun's `safe_openat` and `open_mount_target` do.
//!
//! Errors name paths as seen inside the sandbox.

use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rustix::fs::OFlags;

use crate::sys::{self, at, Errno, SysError, SysResult};

/// What a mount point must be: a directory, or (to bind a file) a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// The first symlink followed on the way to a destination, as seen inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub link: PathBuf,
    pub target: PathBuf,
}

/// Why a destination could not be resolved or made.
#[derive(Debug)]
pub struct TargetError {
    pub source: SysError,
    /// Set when the walk went through a symlink whose target had to be made: the likely cause.
    pub through: Option<Link>,
}

/// How many symlinks one destination may go through, as path_resolution(7) allows (40).
const MAX_LINKS: u32 = 40;

/// The new root, held open while the mounts are placed in it.
pub struct Root {
    fd: OwnedFd,
    /// Where hutch assembles it (a path of its own scratch root, never shown to users).
    path: PathBuf,
    /// Where shadows of read-only directories are staged, once [`Root::shadow_read_only_in`]
    /// allowed them.
    shadow_staging: Option<PathBuf>,
    /// The shadows made so far, to be made read-only once every mount point is in place.
    shadows: Vec<OwnedFd>,
    /// The directory the last destination was found or made in (relative to the root), still
    /// what that path resolves to: consecutive destinations in one directory (/dev's entries)
    /// are looked up from there in one call. Forgotten at every mount anywhere but on one of
    /// its entries, the only mounts that cannot change where its path leads.
    last_dir: RefCell<Option<(PathBuf, Rc<OwnedFd>)>>,
}

impl Root {
    pub fn open(path: &Path) -> SysResult<Root> {
        Ok(Root {
            fd: at::open_dir(path, Path::new("/"))?,
            path: path.to_owned(),
            shadow_staging: None,
            shadows: Vec::new(),
            last_dir: RefCell::new(None),
        })
    }

    /// Note a mount made on `target`: what may have moved is forgotten.
    pub fn mounted_on(&self, target: &MountPoint) {
        if !target.in_last_dir {
            self.last_dir.replace(None);
        }
    }

    /// Let a mount point whose parent directory is read-only be made, as bwrap's tmpfs root
    /// allows: the parent is covered by a *shadow*, a directory of the scratch tmpfs (staged
    /// under `staging`) holding a bind of each of the parent's entries (symlinks copied), where
    /// the new mount point is made. The host stays read-only and untouched; the shadows are made
    /// read-only by [`Root::seal_shadows`]. Only a run that needs one pays for it.
    pub fn shadow_read_only_in(&mut self, staging: PathBuf) {
        self.shadow_staging = Some(staging);
    }

    /// The shadows made, each as the descriptor of its mount: to be made read-only.
    pub fn take_shadows(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.shadows)
    }

    /// Cover the read-only directory `covered` (at `parent`, relative to the root) with a shadow
    /// (see [`Root::shadow_read_only_in`]) and return the shadow's descriptor.
    fn shadow(&mut self, staging: &Path, parent: &Path, covered: &OwnedFd) -> SysResult<OwnedFd> {
        use std::os::unix::fs::PermissionsExt;
        let shown = shown(parent);
        let staged = staging.join(format!("shadow-{}", self.shadows.len()));
        let io = |what: &str, path: &Path| {
            let call = format!("{what} (shadow of {})", path.display());
            move |e: std::io::Error| SysError::io(call, &e)
        };
        let entries = at::list_dir(covered.as_fd(), &shown)?;
        let (mode, uid, gid) = at::mode_and_owner(covered.as_fd(), &shown)?;
        std::fs::create_dir(&staged).map_err(io("mkdir", &shown))?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
            .map_err(io("chmod", &shown))?;
        // Cosmetic: shown as owned by the covered directory's owner where that id is mapped;
        // an unmapped owner (the host's root, without --map-root) cannot be given, and the
        // directory then shows as ours, as under bwrap.
        let _ = std::os::unix::fs::chown(&staged, Some(uid), Some(gid));
        for (name, kind) in &entries {
            let path = staged.join(name);
            match kind {
                at::EntryKind::Dir => std::fs::create_dir(&path),
                at::EntryKind::Symlink(target) => std::os::unix::fs::symlink(target, &path),
                at::EntryKind::Other => std::fs::File::create(&path).map(drop),
            }
            .map_err(io("make a mount point", &shown.join(name)))?;
        }
        let tree = at::clone_tree(&staged, false, &shown)?;
        at::attach(tree.as_fd(), covered.as_fd(), &shown)?;
        // The covered directory may have been the root itself.
        self.reopen()?;
        let top =
            sys::open_in_root(self.fd.as_fd(), parent, OFlags::PATH).map_err(|e| SysError {
                call: format!("openat2({}, RESOLVE_IN_ROOT)", shown.display()),
                errno: e.errno,
            })?;
        // Looked up from the covered directory's descriptor, a name is still the entry beneath.
        for (name, kind) in &entries {
            if matches!(kind, at::EntryKind::Symlink(_)) {
                continue;
            }
            let entry_shown = shown.join(name);
            let bound = at::clone_entry(covered.as_fd(), name, &entry_shown)?;
            let onto = at::open_entry_nofollow(top.as_fd(), name, &entry_shown)?;
            at::attach(bound.as_fd(), onto.as_fd(), &entry_shown)?;
        }
        let count = entries.len();
        tracing::debug!(dir = %shown.display(), entries = count, "shadowed a read-only directory");
        self.shadows
            .push(top.try_clone().map_err(io("dup", &shown))?);
        Ok(top)
    }

    /// Open the root again. A descriptor keeps naming the directory it was opened on, and lookups
    /// from it do not cross a mount made on that directory afterwards: after a mount onto `/`
    /// (an image's overlay, `--bind DIR:/`), the lookups must start from the mount on top.
    pub fn reopen(&mut self) -> SysResult<()> {
        self.fd = at::open_dir(&self.path, Path::new("/"))?;
        self.last_dir.replace(None);
        Ok(())
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn walk(&mut self) -> Walk<'_> {
        Walk {
            root: self,
            links: 0,
            through: None,
        }
    }

    /// A descriptor of `dst` (a sandbox path) inside the root, made as `kind` where missing.
    /// What is there already serves: the mount itself says if it does not fit.
    pub fn mount_point(&mut self, dst: &Path, kind: Kind) -> Result<MountPoint, TargetError> {
        let mut walk = self.walk();
        let result = walk.ensure(&relative(dst), kind);
        result.map_err(|source| TargetError {
            source,
            through: walk.through,
        })
    }

    /// The directory `path` (a sandbox path) lives in, made where missing, and its last
    /// component: where to make an entry without following a symlink at its name.
    pub fn parent_of(&mut self, path: &Path) -> Result<(Rc<OwnedFd>, OsString), TargetError> {
        let no_name = || TargetError {
            source: SysError {
                call: format!("{}: no file name", path.display()),
                errno: Errno::EINVAL,
            },
            through: None,
        };
        let rel = relative(path);
        let (parent, name) = split_last(&rel).ok_or_else(no_name)?;
        let mut walk = self.walk();
        if let Some(dir) = walk.remembered(&parent) {
            return Ok((dir, name.to_owned()));
        }
        let result = walk.ensure(&parent, Kind::Dir);
        match result {
            Ok(dir) => {
                walk.remember(parent, &dir.fd);
                Ok((dir.fd, name.to_owned()))
            }
            Err(source) => Err(TargetError {
                source,
                through: walk.through,
            }),
        }
    }
}

/// A destination, resolved inside the root.
#[derive(Debug)]
pub struct MountPoint {
    /// `O_PATH`, or (a file hutch just made) the descriptor it was made with.
    pub fd: Rc<OwnedFd>,
    /// Whether this may be the root itself: only a walk through a symlink or `..`, or to `/`,
    /// can end there. A mount made on the root hides it from the root's descriptor.
    pub may_be_root: bool,
    /// Whether this is an entry of the directory the root remembers (see [`Root`]).
    in_last_dir: bool,
}

impl MountPoint {
    fn new(fd: OwnedFd, may_be_root: bool, in_last_dir: bool) -> MountPoint {
        MountPoint {
            fd: Rc::new(fd),
            may_be_root,
            in_last_dir,
        }
    }
}

struct Walk<'a> {
    root: &'a mut Root,
    links: u32,
    through: Option<Link>,
}

impl Walk<'_> {
    /// `rel` (relative to the root) opened, after making what is missing of it.
    fn ensure(&mut self, rel: &Path, kind: Kind) -> SysResult<MountPoint> {
        let shown = shown(rel);
        let split = split_last(rel);
        // An entry of the directory the last destination was in: made there, or found through
        // no symlink, from there; anything else (a symlink, an error) is left to the walk from
        // the root below.
        let remembered = split
            .as_ref()
            .and_then(|(parent, _)| self.remembered(parent));
        if let (Some(dir), Some((_, name))) = (&remembered, &split) {
            if let Some(found) = make_or_find(dir.as_fd(), name, kind, &shown) {
                return Ok(found);
            }
        }
        // The common case, one call: the destination exists.
        match self.open(rel) {
            Err(e) if e.errno == Errno::ENOENT => {}
            other => {
                return other.map_err(|e| SysError {
                    call: format!("openat2({}, RESOLVE_IN_ROOT)", shown.display()),
                    errno: e.errno,
                })
            }
        }
        // `.` and `..` always exist where their directory does, so a missing path ends in a name.
        let Some((parent, name)) = split else {
            return Err(SysError {
                call: format!("openat2({}, RESOLVE_IN_ROOT)", shown.display()),
                errno: Errno::ENOENT,
            });
        };
        let mut dir = match remembered {
            Some(dir) => dir,
            None => {
                let dir = self.ensure(&parent, Kind::Dir)?.fd;
                self.remember(parent.clone(), &dir);
                dir
            }
        };
        // The descriptor a file was made with names it: no second lookup.
        let make = |dir: &OwnedFd| match kind {
            Kind::Dir => at::mkdir(dir.as_fd(), name, 0o755, &shown).map(|()| None),
            Kind::File => at::create_file(dir.as_fd(), name, 0o644, &shown).map(Some),
        };
        let mut made = make(&dir);
        if let (Err(e), Some(staging)) = (&made, self.root.shadow_staging.clone()) {
            if e.errno == Errno::EROFS {
                dir = Rc::new(self.root.shadow(&staging, &parent, &dir)?);
                self.remember(parent.clone(), &dir);
                made = make(&dir);
            }
        }
        let made = match made {
            Ok(Some(fd)) => return Ok(MountPoint::new(fd, false, true)),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match made {
            // EEXIST: a dangling symlink (mkdirat and O_EXCL never follow one), or something
            // made meanwhile.
            Ok(()) => {}
            Err(e) if e.errno == Errno::EEXIST => {}
            Err(e) => return Err(e),
        }
        match at::open_entry_nofollow(dir.as_fd(), name, &shown) {
            Err(e) if e.errno == Errno::ELOOP => {}
            other => return other.map(|fd| MountPoint::new(fd, false, true)),
        }
        // A symlink whose target is missing: make the target, resolved inside the root.
        self.links += 1;
        if self.links > MAX_LINKS {
            return Err(SysError {
                call: format!("resolve({})", shown.display()),
                errno: Errno::ELOOP,
            });
        }
        let target = at::read_link(dir.as_fd(), name, &shown)?;
        let next = substitute(&parent, &target);
        self.through.get_or_insert(Link {
            link: shown,
            target,
        });
        self.ensure(&next, kind)
    }

    /// The remembered directory, if `rel` is its path.
    fn remembered(&self, rel: &Path) -> Option<Rc<OwnedFd>> {
        match &*self.root.last_dir.borrow() {
            Some((path, dir)) if path == rel => Some(Rc::clone(dir)),
            _ => None,
        }
    }

    /// Remember `dir`, found at `rel`, as the directory the next destination is looked for in.
    fn remember(&self, rel: PathBuf, dir: &Rc<OwnedFd>) {
        self.root.last_dir.replace(Some((rel, Rc::clone(dir))));
    }

    /// `rel` opened inside the root, following symlinks (inside it). A path of plain names is
    /// first walked through no symlink at all: such a walk only goes down, so it cannot end on
    /// the root, and the caller need not look at the root again after mounting on it.
    fn open(&self, rel: &Path) -> SysResult<MountPoint> {
        let plain = !rel.as_os_str().is_empty()
            && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if plain {
            match at::open_in_root_no_symlinks(self.root.fd.as_fd(), rel, rel) {
                // A symlink on the way; EAGAIN: a rename raced the walk (retried below).
                Err(e) if matches!(e.errno, Errno::ELOOP | Errno::EAGAIN) => {}
                other => return other.map(|fd| MountPoint::new(fd, false, false)),
            }
        }
        sys::open_in_root(self.root.fd.as_fd(), rel, OFlags::PATH)
            .map(|fd| MountPoint::new(fd, true, false))
    }
}

/// `name` in `dir` made as `kind`, or found there through no symlink, as an entry of the
/// remembered directory; `None` on any other outcome. In the directory the last destination
/// was made in (/dev), the next one is usually missing too: making first saves a lookup.
fn make_or_find(dir: BorrowedFd<'_>, name: &OsStr, kind: Kind, shown: &Path) -> Option<MountPoint> {
    let made = match kind {
        Kind::Dir => at::mkdir(dir, name, 0o755, shown).map(|()| None),
        Kind::File => at::create_file(dir, name, 0o644, shown).map(Some),
    };
    match made {
        Ok(Some(fd)) => return Some(MountPoint::new(fd, false, true)),
        Ok(None) => {}
        Err(e) if e.errno == Errno::EEXIST => {}
        Err(_) => return None,
    }
    at::open_entry_nofollow(dir, name, shown)
        .ok()
        .map(|fd| MountPoint::new(fd, false, true))
}

/// A sandbox path relative to the root (`/work/x` → `work/x`, `/` → empty).
pub fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect()
}

/// A path relative to the root as seen inside the sandbox.
pub fn shown(rel: &Path) -> PathBuf {
    Path::new("/").join(rel)
}

/// `rel` split into its parent and its last name; `None` for the root or a path ending in `..`.
pub fn split_last(rel: &Path) -> Option<(PathBuf, &OsStr)> {
    let name = rel.file_name()?;
    Some((rel.parent().unwrap_or(Path::new("")).to_owned(), name))
}

/// Where a symlink in directory `parent` (relative to the root) pointing at `target` leads,
/// relative to the root. Not normalized: `..` after a symlink must be resolved by the kernel,
/// from where the symlink really led.
pub fn substitute(parent: &Path, target: &Path) -> PathBuf {
    if target.is_absolute() {
        relative(target)
    } else {
        parent.join(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn paths_split_and_substitute_without_leaving_the_root() {
        assert_eq!(relative(Path::new("/work/x")), Path::new("work/x"));
        assert_eq!(relative(Path::new("/")), Path::new(""));
        assert_eq!(shown(Path::new("work/x")), Path::new("/work/x"));
        assert_eq!(shown(Path::new("")), Path::new("/"));
        let (parent, name) = split_last(Path::new("etc/hosts")).unwrap();
        assert_eq!(
            (parent.as_path(), name),
            (Path::new("etc"), OsStr::new("hosts"))
        );
        let (parent, name) = split_last(Path::new("etc")).unwrap();
        assert_eq!((parent.as_path(), name), (Path::new(""), OsStr::new("etc")));
        assert!(split_last(Path::new("")).is_none());
        assert!(split_last(Path::new("a/..")).is_none());
        assert_eq!(
            substitute(Path::new("work"), Path::new("/oldroot/tmp/x")),
            Path::new("oldroot/tmp/x")
        );
        assert_eq!(
            substitute(Path::new("etc"), Path::new("../run/resolv.conf")),
            Path::new("etc/../run/resolv.conf")
        );
    }

    /// A root in a temporary directory, with a host directory beside it that symlinks inside try
    /// to reach: openat2 and mkdirat need no privilege.
    struct Fixture {
        _dir: tempfile::TempDir,
        root_path: PathBuf,
        outside: PathBuf,
        root: Root,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root_path = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root_path.join("etc")).unwrap();
        std::fs::create_dir_all(root_path.join("work")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        let root = Root::open(&root_path).unwrap();
        Fixture {
            _dir: dir,
            root_path,
            outside,
            root,
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn missing_destinations_are_made_inside_the_root() {
        let mut f = fixture();
        f.root.mount_point(Path::new("/a/b/c"), Kind::Dir).unwrap();
        assert!(f.root_path.join("a/b/c").is_dir());
        f.root
            .mount_point(Path::new("/a/file"), Kind::File)
            .unwrap();
        assert!(f.root_path.join("a/file").is_file());
        // What exists serves, whatever it is.
        f.root.mount_point(Path::new("/a/file"), Kind::Dir).unwrap();
        let (dir, name) = f.root.parent_of(Path::new("/d/e/link")).unwrap();
        at::symlink(Path::new("x"), dir.as_fd(), &name, Path::new("/d/e/link")).unwrap();
        assert_eq!(
            std::fs::read_link(f.root_path.join("d/e/link")).unwrap(),
            Path::new("x")
        );
    }

    #[test]
    fn symlinks_leading_out_are_followed_inside_the_root() {
        let mut f = fixture();
        let outside = f.outside.to_str().unwrap();
        // Absolute, to the host's path of a directory outside the root.
        symlink(outside, f.root_path.join("work/abs")).unwrap();
        // Climbing above the root.
        symlink("../../../../..", f.root_path.join("work/up")).unwrap();
        symlink(
            format!("../../../..{outside}"),
            f.root_path.join("work/up2"),
        )
        .unwrap();
        for dst in ["/work/abs/planted", "/work/up/planted", "/work/up2/planted"] {
            f.root.mount_point(Path::new(dst), Kind::File).unwrap();
        }
        assert!(entries(&f.outside).is_empty(), "{:?}", entries(&f.outside));
        assert!(f.root_path.join(&outside[1..]).join("planted").is_file());
        assert!(f.root_path.join("planted").is_file());
    }

    #[test]
    fn dangling_symlinks_are_made_inside_the_root_and_reported() {
        let mut f = fixture();
        // systemd-resolved's layout: the stub lives in /run, empty at boot.
        symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            f.root_path.join("etc/resolv.conf"),
        )
        .unwrap();
        symlink("/x/hosts", f.root_path.join("etc/hosts")).unwrap();
        symlink(f.outside.join("state"), f.root_path.join("x")).unwrap();
        f.root
            .mount_point(Path::new("/etc/resolv.conf"), Kind::File)
            .unwrap();
        assert!(f
            .root_path
            .join("run/systemd/resolve/stub-resolv.conf")
            .is_file());
        f.root
            .mount_point(Path::new("/etc/hosts"), Kind::File)
            .unwrap();
        let inner = f.root_path.join(f.outside.strip_prefix("/").unwrap());
        assert!(inner.join("state/hosts").is_file());
        assert!(entries(&f.outside).is_empty());
        // A symlink leading through a file: refused where it is, nothing made.
        std::fs::write(f.root_path.join("blocker"), "").unwrap();
        symlink("/blocker/dir", f.root_path.join("work/sub")).unwrap();
        let err = f
            .root
            .mount_point(Path::new("/work/sub/planted"), Kind::Dir)
            .unwrap_err();
        assert_eq!(err.source.errno, Errno::ENOTDIR, "{}", err.source);
        assert_eq!(
            err.source.call,
            "openat2(/work/sub/planted, RESOLVE_IN_ROOT)"
        );
    }

    #[test]
    fn only_a_walk_through_symlinks_or_dots_may_end_on_the_root() {
        let mut f = fixture();
        symlink("/", f.root_path.join("work/top")).unwrap();
        symlink("..", f.root_path.join("work/up")).unwrap();
        symlink("/etc", f.root_path.join("work/etc")).unwrap();
        let root_id = std::fs::metadata(&f.root_path).map(|m| (m.dev(), m.ino()));
        for (dst, kind, may_be_root) in [
            ("/", Kind::Dir, true),
            ("/work/..", Kind::Dir, true),
            ("/work/top", Kind::Dir, true),
            ("/work/up", Kind::Dir, true),
            ("/work/etc", Kind::Dir, true),
            ("/etc", Kind::Dir, false),
            ("/new/dir", Kind::Dir, false),
            ("/new/file", Kind::File, false),
            ("/new/file", Kind::File, false),
        ] {
            let target = f.root.mount_point(Path::new(dst), kind).unwrap();
            assert_eq!(target.may_be_root, may_be_root, "{dst}");
            let id = rustix::fs::fstat(&target.fd).map(|s| (s.st_dev, s.st_ino));
            if !may_be_root {
                assert_ne!(id.ok(), root_id.as_ref().ok().copied(), "{dst}");
            }
        }
    }

    #[test]
    fn symlink_loops_and_magic_links_are_refused() {
        let mut f = fixture();
        symlink("loop", f.root_path.join("loop")).unwrap();
        let err = f
            .root
            .mount_point(Path::new("/loop/x"), Kind::Dir)
            .unwrap_err();
        assert_eq!(err.source.errno, Errno::ELOOP, "{}", err.source);
        // /proc's magic links would lead anywhere.
        let mut proc_root = Root::open(Path::new("/")).unwrap();
        let err = proc_root
            .mount_point(Path::new("/proc/self/cwd/x"), Kind::Dir)
            .unwrap_err();
        assert_eq!(err.source.errno, Errno::ELOOP, "{}", err.source);
    }
}
