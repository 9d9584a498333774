//! The sandbox's file system view, built in its own mount namespace (mount_namespaces(7)).
//!
//! [`plan`] turns the spec's mounts into an ordered list of [`MountOp`]s without touching the
//! system; [`build_root`] applies them. The new root is assembled under a scratch tmpfs: the
//! host's root is moved to `/oldroot` with a first pivot_root(2), every source is taken from
//! there and every destination lives under `/newroot`, and a second pivot_root plus a lazy
//! unmount leaves nothing of the host reachable by path except what was bound in.
//!
//! Destinations are never looked up by path from the scratch root, where `/oldroot` is the
//! host: [`target`] resolves each inside the new root from a descriptor, and each mount is made
//! detached and attached onto the destination's descriptor. Content of the sandbox or an image
//! (a symlink planted in a writable bind, a persistent home, an image's `/etc/resolv.conf`) can
//! steer a mount only to another place inside the sandbox.

mod remount;
pub(crate) mod target;

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use crate::sys::at::{self, FsOption};
use crate::sys::{self, mount_attr, Errno, SysError};
use target::{Kind, Link, Root, TargetError};

/// One mount as the spec states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// An overlay of a read-only `lower` tree (an image, shared by many environments) and a
    /// writable `upper` of its own (`work`: overlayfs' scratch directory, on the same file system).
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
        dst: PathBuf,
    },
    Bind {
        src: PathBuf,
        dst: PathBuf,
        read_only: bool,
    },
    Tmpfs {
        dst: PathBuf,
        mode: u32,
    },
    Proc {
        dst: PathBuf,
    },
    /// A minimal /dev: a few harmless device nodes, a private devpts and /dev/shm.
    Dev {
        dst: PathBuf,
    },
    /// A read-only sysfs, as systemd expects at /sys. The kernel grants it only to a user
    /// namespace that owns the sandbox's network namespace (sysfs shows that namespace's
    /// devices), so only sandboxes with a network namespace of their own get one.
    Sysfs {
        dst: PathBuf,
    },
}

/// How a bind mount may be used inside the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
    /// A single host device node (/dev/null and friends): must keep device access.
    Device,
}

/// One step of building the root, in sandbox paths (`dst`) and host paths (`src`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountOp {
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
        dst: PathBuf,
    },
    Bind {
        src: PathBuf,
        dst: PathBuf,
        access: Access,
    },
    Tmpfs {
        dst: PathBuf,
        mode: u32,
    },
    Proc {
        dst: PathBuf,
    },
    Devpts {
        dst: PathBuf,
    },
    /// A new, read-only sysfs (see [`Mount::Sysfs`]).
    Sysfs {
        dst: PathBuf,
    },
    Symlink {
        target: PathBuf,
        link: PathBuf,
    },
    /// A small read-only file hutch writes (resolv.conf, hosts): kept in the scratch tmpfs,
    /// which lives as long as the sandbox, and bound over `dst` — nothing is written on the host.
    File {
        dst: PathBuf,
        contents: String,
    },
    /// A cgroup2 mount of the sandbox's own cgroup namespace: its leaf cgroup, with its limits
    /// (see `crate::cgroup`); writable only where root inside may manage its own subtree.
    Cgroup2 {
        dst: PathBuf,
        read_only: bool,
    },
    /// A new file system of type `fstype` (OCI bundles: tmpfs with its size, sysfs, mqueue,
    /// cgroup2, devpts with its options), configured with `options` (fsconfig(2) keys, with or
    /// without a value) and mounted with the `MOUNT_ATTR_*` bits `attrs`.
    FileSystem {
        fstype: String,
        dst: PathBuf,
        options: Vec<(String, Option<String>)>,
        attrs: u64,
    },
    /// A bind of the host path `src` with the `MOUNT_ATTR_*` bits `attrs` (OCI's `ro`,
    /// `nosuid`, `nodev`, `noexec`), with the mounts below it when `recursive` (`rbind`).
    BindWith {
        src: PathBuf,
        dst: PathBuf,
        recursive: bool,
        attrs: u64,
    },
    /// What is at `dst` inside the new root made read-only (OCI `readonlyPaths`, and
    /// `root.readonly` for `/`, where only the root's own mount changes). Skipped where absent.
    ReadOnly {
        dst: PathBuf,
    },
    /// What is at `dst` inside the new root hidden (OCI `maskedPaths`): /dev/null over a file,
    /// an empty read-only tmpfs over a directory. Skipped where absent.
    Mask {
        dst: PathBuf,
    },
}

impl fmt::Display for MountOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountOp::Bind { src, dst, access } => {
                let kind = match access {
                    Access::ReadOnly => "ro-bind",
                    Access::ReadWrite => "bind",
                    Access::Device => "dev-bind",
                };
                write!(f, "{kind} {} on {}", src.display(), dst.display())
            }
            MountOp::Tmpfs { dst, mode } => write!(f, "tmpfs (mode {mode:o}) on {}", dst.display()),
            MountOp::Overlay {
                lower, upper, dst, ..
            } => {
                write!(
                    f,
                    "overlay {} + {} on {}",
                    lower.display(),
                    upper.display(),
                    dst.display()
                )
            }
            MountOp::Proc { dst } => write!(f, "proc on {}", dst.display()),
            MountOp::Devpts { dst } => write!(f, "devpts on {}", dst.display()),
            MountOp::Sysfs { dst } => write!(f, "sysfs (read-only) on {}", dst.display()),
            MountOp::Cgroup2 { dst, read_only } => write!(
                f,
                "cgroup2 (the sandbox's own cgroup{}) on {}",
                if *read_only { ", read-only" } else { "" },
                dst.display()
            ),
            MountOp::Symlink { target, link } => {
                write!(f, "symlink {} -> {}", link.display(), target.display())
            }
            MountOp::File { dst, .. } => {
                write!(f, "generated file (read-only) on {}", dst.display())
            }
            MountOp::FileSystem { fstype, dst, .. } => {
                write!(f, "{fstype} on {}", dst.display())
            }
            MountOp::BindWith {
                src,
                dst,
                recursive,
                attrs,
            } => {
                let kind = if *recursive { "rbind" } else { "bind" };
                let ro = if attrs & mount_attr::RDONLY != 0 {
                    " (read-only)"
                } else {
                    ""
                };
                write!(f, "{kind} {} on {}{ro}", src.display(), dst.display())
            }
            MountOp::ReadOnly { dst } => write!(f, "read-only {}", dst.display()),
            MountOp::Mask { dst } => write!(f, "masked {}", dst.display()),
        }
    }
}

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

pub fn plan(mounts: &[Mount]) -> Vec<MountOp> {
    let mut ops = Vec::with_capacity(mounts.len() + 16);
    for mount in mounts {
        match mount {
            Mount::Overlay {
                lower,
                upper,
                work,
                dst,
            } => ops.push(MountOp::Overlay {
                lower: lower.clone(),
                upper: upper.clone(),
                work: work.clone(),
                dst: dst.clone(),
            }),
            Mount::Bind {
                src,
                dst,
                read_only,
            } => ops.push(MountOp::Bind {
                src: src.clone(),
                dst: dst.clone(),
                access: if *read_only {
                    Access::ReadOnly
                } else {
                    Access::ReadWrite
                },
            }),
            Mount::Tmpfs { dst, mode } => ops.push(MountOp::Tmpfs {
                dst: dst.clone(),
                mode: *mode,
            }),
            Mount::Proc { dst } => ops.push(MountOp::Proc { dst: dst.clone() }),
            Mount::Sysfs { dst } => ops.push(MountOp::Sysfs { dst: dst.clone() }),
            Mount::Dev { dst } => {
                ops.push(MountOp::Tmpfs {
                    dst: dst.clone(),
                    mode: 0o755,
                });
                for name in DEVICES {
                    ops.push(MountOp::Bind {
                        src: Path::new("/dev").join(name),
                        dst: dst.join(name),
                        access: Access::Device,
                    });
                }
                ops.push(MountOp::Devpts {
                    dst: dst.join("pts"),
                });
                ops.push(MountOp::Symlink {
                    target: "pts/ptmx".into(),
                    link: dst.join("ptmx"),
                });
                ops.push(MountOp::Tmpfs {
                    dst: dst.join("shm"),
                    mode: 0o1777,
                });
                for (name, target) in [
                    ("fd", "/proc/self/fd"),
                    ("stdin", "/proc/self/fd/0"),
                    ("stdout", "/proc/self/fd/1"),
                    ("stderr", "/proc/self/fd/2"),
                ] {
                    ops.push(MountOp::Symlink {
                        target: target.into(),
                        link: dst.join(name),
                    });
                }
            }
        }
    }
    ops
}

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("cannot prepare a scratch root on {}", scratch.display())]
    Scratch {
        scratch: PathBuf,
        #[source]
        source: SysError,
    },
    #[error("{op}")]
    Op {
        op: String,
        #[source]
        source: SysError,
    },
    #[error("{op}: cannot create the mount point {} inside the sandbox", path.display())]
    MountPoint {
        op: String,
        path: PathBuf,
        /// The first symlink the destination went through to a target that had to be made.
        through: Option<Box<Link>>,
        #[source]
        source: SysError,
    },
    #[error("cannot switch to the new root")]
    SwitchRoot(#[source] SysError),
}

impl MountError {
    pub fn hint(&self, proc_sys: &Path) -> Option<String> {
        match self {
            MountError::MountPoint {
                through: Some(through),
                ..
            } => Some(format!(
                "{} is a symlink to {}, which does not exist; mount destinations are resolved \
                 inside the sandbox, as in a chroot, never on the host: remove the symlink or \
                 choose another destination",
                through.link.display(),
                through.target.display()
            )),
            MountError::MountPoint { source, .. } | MountError::Op { source, .. }
                if source.errno == Errno::ENOSYS =>
            {
                Some(
                    "hutch places every mount by descriptor, inside the sandbox's root, with \
                     openat2(2) (Linux 5.6) and the new mount API (Linux 5.2), which this kernel \
                     lacks; upgrade the kernel (`hutch check` shows its version)"
                        .into(),
                )
            }
            MountError::MountPoint { source, .. } if source.errno == Errno::ELOOP => Some(
                "the destination goes through a symlink loop or through one of /proc's magic \
                 links (/proc/PID/root, /proc/self/fd/N...), which are never followed for a mount"
                    .into(),
            ),
            MountError::Op { source, .. }
                if matches!(source.errno, Errno::ENOTDIR | Errno::EISDIR)
                    && source.call.starts_with("move_mount") =>
            {
                Some(
                    "a directory can only be mounted on a directory and a file on a file; \
                     choose a destination of the same kind as the source"
                        .into(),
                )
            }
            MountError::MountPoint { source, .. } if source.errno == Errno::EROFS => Some(
                "the destination does not exist and a directory above it is read-only in the \
                 sandbox; choose a destination that exists, or a writable place for it (such as \
                 a --tmpfs DIR on a directory above it)"
                    .into(),
            ),
            MountError::Op { op, source }
                if source.errno == Errno::EPERM && op.starts_with("proc") =>
            {
                Some(format!(
                    "{}; {}",
                    crate::diagnose::MASKED_PROC,
                    crate::diagnose::SEE_CHECK
                ))
            }
            MountError::Scratch { source, .. } | MountError::Op { source, .. }
                if matches!(source.errno, Errno::EPERM | Errno::EACCES) =>
            {
                Some(crate::diagnose::userns_hint(proc_sys))
            }
            _ => None,
        }
    }
}

/// Where the scratch root lives while the new root is assembled. It is mounted in the sandbox's
/// own mount namespace only, so the host's directory is never touched.
const SCRATCH: &str = "/tmp";
const NEW_ROOT: &str = "/newroot";
const OLD_ROOT: &str = "/oldroot";

/// Build the sandbox's root from `ops` and make it this process's `/`. Must run in a fresh mount
/// namespace owned by a user namespace in which this process has CAP_SYS_ADMIN.
pub fn build_root(ops: &[MountOp]) -> Result<(), MountError> {
    pivot_into_root(ops)?.detach_old_root()
}

/// The sandbox's root is `/`, with the old root still stacked on top of it: until
/// [`Pivoted::detach_old_root`], `..` from `/` climbs back into the host's tree (pivot_root(2),
/// NOTES), so nothing of the user's may run. Paths looked up from `/` already resolve in the new
/// root: a walk starts at the process's root and crosses only mounts below it.
#[must_use = "the host's tree stays reachable until detach_old_root"]
pub struct Pivoted(());

impl Pivoted {
    /// Detach the old root. The kernel waits out an RCU grace period before umount2(2) returns
    /// (0.02 to 0.15 ms measured here), after the tree is gone: another thread may meanwhile
    /// work in the new root (see `child::build_root_beside_network`).
    pub fn detach_old_root(self) -> Result<(), MountError> {
        let detach = || -> Result<(), SysError> {
            sys::detach_mount(Path::new("."))?;
            sys::chdir(Path::new("/"))
        };
        detach().map_err(MountError::SwitchRoot)
    }
}

/// [`build_root`] up to the pivot: the old root is still to be detached.
pub fn pivot_into_root(ops: &[MountOp]) -> Result<Pivoted, MountError> {
    let scratch = Path::new(SCRATCH);
    let scratch_err = |source| MountError::Scratch {
        scratch: scratch.into(),
        source,
    };
    // Private propagation first: nothing we mount may propagate back into the host's namespace
    // (mount_namespaces(7), "Shared subtrees").
    sys::mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .map_err(scratch_err)?;
    sys::mount(
        None,
        scratch,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0700"),
    )
    .map_err(scratch_err)?;
    for dir in ["newroot", "oldroot"] {
        mkdir(&scratch.join(dir)).map_err(scratch_err)?;
    }
    // After this pivot, `/` is the scratch tmpfs and the host's tree hangs at /oldroot, so
    // sources are always host paths and destinations never alias them.
    sys::pivot_root(scratch, &scratch.join("oldroot")).map_err(scratch_err)?;
    sys::chdir(Path::new("/")).map_err(scratch_err)?;
    let new_root = Path::new(NEW_ROOT);
    // pivot_root(2) needs the new root to be a mount point, even if no op mounts on `/`.
    sys::mount(Some(new_root), new_root, None, MsFlags::MS_BIND, None).map_err(scratch_err)?;
    mkdir(Path::new(TMPFS_DIRS)).map_err(scratch_err)?;
    // Every destination is resolved from this descriptor, never by path (see `target`).
    let mut root = Root::open(new_root).map_err(scratch_err)?;
    root.shadow_read_only_in(Path::new(TMPFS_DIRS).to_owned());

    // The umask, to know where mkdir(2) alone gives a staged directory its mode. Read by setting
    // it and putting it back at once; the thread making the network namespace meanwhile makes no
    // file.
    let umask = {
        let mask = rustix::process::umask(rustix::fs::Mode::empty());
        rustix::process::umask(mask);
        mask.bits()
    };
    for (index, op) in ops.iter().enumerate() {
        apply(&mut root, index, op, umask).map_err(|e| e.with_op(op))?;
    }
    for shadow in root.take_shadows() {
        seal_shadow(&shadow).map_err(|source| MountError::Op {
            op: "make the mount points' shadow directories read-only".into(),
            source,
        })?;
    }
    drop(root);

    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it (`Pivoted`)
    // leaves only the new root, with no directory of the host's left to climb back through.
    let switch = || -> Result<(), SysError> {
        sys::chdir(new_root)?;
        sys::pivot_root(Path::new("."), Path::new("."))
    };
    switch().map_err(MountError::SwitchRoot)?;
    Ok(Pivoted(()))
}

/// An op failure before the op's description is attached.
enum Failure {
    Sys(SysError),
    MountPoint(PathBuf, TargetError),
}

impl Failure {
    fn with_op(self, op: &MountOp) -> MountError {
        match self {
            Failure::Sys(source) => MountError::Op {
                op: op.to_string(),
                source,
            },
            Failure::MountPoint(path, e) => MountError::MountPoint {
                op: op.to_string(),
                path,
                through: e.through.map(Box::new),
                source: e.source,
            },
        }
    }
}

impl From<SysError> for Failure {
    fn from(e: SysError) -> Self {
        Failure::Sys(e)
    }
}

fn inside(root: &str, path: &Path) -> PathBuf {
    Path::new(root).join(path.strip_prefix("/").unwrap_or(path))
}

/// Carry out `op`, the plan's `index`th. Sources are host paths the user chose, looked up on the
/// host (under /oldroot); destinations are resolved inside the new root, and every mount is
/// made detached and then attached onto the destination's descriptor. `umask` is the process's.
fn apply(root: &mut Root, index: usize, op: &MountOp, umask: u32) -> Result<(), Failure> {
    use mount_attr::{NODEV, NOSUID, RDONLY};
    match op {
        MountOp::Bind { src, dst, access } => {
            let tree = at::clone_tree(&inside(OLD_ROOT, src), true, src)?;
            // A device is a node, never a directory: no need to look.
            let kind = if *access != Access::Device && at::is_dir(tree.as_fd(), src)? {
                Kind::Dir
            } else {
                Kind::File
            };
            let attrs = match access {
                Access::ReadOnly => RDONLY | NOSUID | NODEV,
                Access::ReadWrite => NOSUID | NODEV,
                Access::Device => 0,
            };
            attach_with_attrs(root, &tree, attrs, dst, kind)?;
        }
        MountOp::Overlay {
            lower,
            upper,
            work,
            dst,
        } => {
            let [lower_dir, upper_dir, work_dir] =
                [lower, upper, work].map(|p| inside(OLD_ROOT, p).to_string_lossy().into_owned());
            let overlay = at::new_mount(
                "overlay",
                &[
                    FsOption::String("lowerdir", &lower_dir),
                    FsOption::String("upperdir", &upper_dir),
                    FsOption::String("workdir", &work_dir),
                    // An unprivileged overlay keeps its whiteouts in user.* xattrs (5.11+).
                    FsOption::Flag("userxattr"),
                ],
                NOSUID | NODEV,
                &format!("overlay of {} + {}", lower.display(), upper.display()),
            )?;
            attach(root, &overlay, dst, Kind::Dir)?;
        }
        MountOp::Tmpfs { dst, mode } => {
            // A directory of the scratch tmpfs, bound: a new tmpfs per mount point would make a
            // superblock each, to set up and tear down at every start (a dozen with the default
            // profile). The bind keeps the scratch mount's nosuid and nodev, and all of them
            // together are held to one tmpfs's size.
            let staged = Path::new(TMPFS_DIRS).join(index.to_string());
            // mkdir(2) keeps the permission bits and the sticky bit (on Linux) the umask leaves.
            let exact = *mode & !0o1777 == 0 && *mode & umask == 0;
            std::fs::DirBuilder::new()
                .mode(*mode & 0o1777)
                .create(&staged)
                .and_then(|()| {
                    if exact {
                        return Ok(());
                    }
                    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(*mode))
                })
                .map_err(|e| SysError::io(format!("stage a tmpfs for {}", dst.display()), &e))?;
            let tree = at::clone_tree(&staged, false, dst)?;
            attach(root, &tree, dst, Kind::Dir)?;
        }
        MountOp::Proc { dst } => {
            let proc = at::new_mount("proc", &[], NOSUID | NODEV | mount_attr::NOEXEC, "proc")?;
            attach(root, &proc, dst, Kind::Dir)?;
        }
        MountOp::Sysfs { dst } => {
            let sysfs = at::new_mount(
                "sysfs",
                &[],
                mount_attr::RDONLY | NOSUID | NODEV | mount_attr::NOEXEC,
                "sysfs",
            )?;
            attach(root, &sysfs, dst, Kind::Dir)?;
        }
        MountOp::Cgroup2 { dst, read_only } => {
            // Mounted from inside the sandbox's cgroup namespace, it shows the sandbox's leaf
            // as its root (cgroup_namespaces(7)), never the host's tree.
            let attrs = NOSUID | NODEV | mount_attr::NOEXEC | if *read_only { RDONLY } else { 0 };
            let cgroup = at::new_mount("cgroup2", &[], attrs, "cgroup2")?;
            attach(root, &cgroup, dst, Kind::Dir)?;
        }
        MountOp::Devpts { dst } => {
            // A new instance: the sandbox's terminals are its own, the host's stay invisible.
            let devpts = at::new_mount(
                "devpts",
                &[
                    FsOption::Flag("newinstance"),
                    FsOption::String("ptmxmode", "0666"),
                    FsOption::String("mode", "620"),
                ],
                NOSUID | mount_attr::NOEXEC,
                "devpts",
            )?;
            attach(root, &devpts, dst, Kind::Dir)?;
        }
        MountOp::Symlink { target, link } => {
            let (dir, name) = root
                .parent_of(link)
                .map_err(|e| Failure::MountPoint(link.clone(), e))?;
            at::symlink(target, dir.as_fd(), &name, link)?;
        }
        MountOp::File { dst, contents } => {
            // Staged in the scratch root, which is our `/` now: once the host's tree and the
            // scratch root are detached, the bind mount alone keeps the file alive.
            let staged = Path::new(GENERATED).join(
                dst.to_string_lossy()
                    .trim_start_matches('/')
                    .replace('/', "_"),
            );
            std::fs::create_dir_all(GENERATED)
                .and_then(|()| std::fs::write(&staged, contents))
                .map_err(|e| SysError::io(format!("stage {}", dst.display()), &e))?;
            let tree = at::clone_tree(&staged, false, dst)?;
            // /etc/resolv.conf is often a symlink (systemd-resolved's lives in /run): the
            // destination's resolution follows it inside the new root, never onto the host.
            attach_with_attrs(root, &tree, RDONLY | NOSUID | NODEV, dst, Kind::File)?;
        }
        MountOp::FileSystem {
            fstype,
            dst,
            options,
            attrs,
        } => {
            let options: Vec<FsOption<'_>> = options
                .iter()
                .map(|(key, value)| match value {
                    Some(value) => FsOption::String(key, value),
                    None => FsOption::Flag(key),
                })
                .collect();
            let mount = at::new_mount(fstype, &options, *attrs, fstype)?;
            attach(root, &mount, dst, Kind::Dir)?;
        }
        MountOp::BindWith {
            src,
            dst,
            recursive,
            attrs,
        } => {
            let tree = at::clone_tree(&inside(OLD_ROOT, src), *recursive, src)?;
            let kind = if at::is_dir(tree.as_fd(), src)? {
                Kind::Dir
            } else {
                Kind::File
            };
            attach_with_attrs(root, &tree, *attrs, dst, kind)?;
        }
        MountOp::ReadOnly { dst } => {
            if dst == Path::new("/") {
                // The root's own mount only: what is mounted below it keeps its own access.
                at::set_mount_attrs(root.fd(), false, RDONLY, dst)?;
                return Ok(());
            }
            let Some(existing) = existing_in_root(root, dst)? else {
                return Ok(());
            };
            let tree = at::clone_tree_of(existing.as_fd(), true, dst)?;
            at::set_mount_attrs(tree.as_fd(), true, RDONLY, dst)?;
            at::attach(tree.as_fd(), existing.as_fd(), dst)?;
        }
        MountOp::Mask { dst } => {
            let Some(existing) = existing_in_root(root, dst)? else {
                return Ok(());
            };
            let mask = if at::is_dir(existing.as_fd(), dst)? {
                at::new_mount(
                    "tmpfs",
                    &[],
                    RDONLY | NOSUID | NODEV | mount_attr::NOEXEC,
                    "tmpfs",
                )?
            } else {
                at::clone_tree(&inside(OLD_ROOT, Path::new("/dev/null")), false, dst)?
            };
            at::attach(mask.as_fd(), existing.as_fd(), dst)?;
        }
    }
    Ok(())
}

/// `dst` inside the root as it is now, `None` if absent: what is not there needs no hiding.
fn existing_in_root(root: &Root, dst: &Path) -> Result<Option<OwnedFd>, Failure> {
    let rel = target::relative(dst);
    match sys::open_in_root(root.fd(), &rel, rustix::fs::OFlags::PATH) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.errno == Errno::ENOENT => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Attach the detached mount `mount` onto `dst` inside the root, made as `kind` where missing.
fn attach(root: &mut Root, mount: &OwnedFd, dst: &Path, kind: Kind) -> Result<(), Failure> {
    let target = root
        .mount_point(dst, kind)
        .map_err(|e| Failure::MountPoint(dst.to_owned(), e))?;
    if let Err(mut e) = at::attach(mount.as_fd(), target.fd.as_fd(), dst) {
        // move_mount(2) says EINVAL for a directory onto a file and the reverse; say which.
        if e.errno == Errno::EINVAL {
            match (kind, at::is_dir(target.fd.as_fd(), dst)) {
                (Kind::Dir, Ok(false)) => e.errno = Errno::ENOTDIR,
                (Kind::File, Ok(true)) => e.errno = Errno::EISDIR,
                _ => {}
            }
        }
        return Err(e.into());
    }
    root.mounted_on(&target);
    // The destination may have been the root itself (`/`, or a symlink leading there).
    if target.may_be_root {
        root.reopen()?;
    }
    Ok(())
}

/// [`attach`] the detached tree `tree` with the mount attributes `attrs` on it and every mount
/// below it, set before anything inside can see it. Kernels before 5.12 lack mount_setattr(2):
/// there each mount is remounted once attached.
fn attach_with_attrs(
    root: &mut Root,
    tree: &OwnedFd,
    attrs: u64,
    dst: &Path,
    kind: Kind,
) -> Result<(), Failure> {
    let unset = attrs != 0
        && match at::set_mount_attrs(tree.as_fd(), true, attrs, dst) {
            Err(e) if e.errno == Errno::ENOSYS => true,
            other => other.map(|()| false)?,
        };
    attach(root, tree, dst, kind)?;
    if unset {
        remount::remount_tree(root, tree, attrs, dst, Path::new(NEW_ROOT))?;
    }
    Ok(())
}

/// Make a shadow of a read-only directory (see [`Root::shadow_read_only_in`]) read-only, as the
/// directory it covers was, now that its mount points are made.
fn seal_shadow(shadow: &OwnedFd) -> Result<(), SysError> {
    use mount_attr::{NODEV, NOSUID, RDONLY};
    let shown = Path::new("(shadow)");
    match at::set_mount_attrs(shadow.as_fd(), false, RDONLY | NOSUID | NODEV, shown) {
        Err(e) if e.errno == Errno::ENOSYS => {
            let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            at::remount(shadow.as_fd(), flags, Path::new(remount::PROC_FD), shown)
        }
        other => other,
    }
}

/// Where generated files are staged in the scratch root.
const GENERATED: &str = "/generated";
/// Where the directories bound as the plan's tmpfs mounts live in the scratch root.
const TMPFS_DIRS: &str = "/tmpfs";

/// An absolute path with `.` and `..` resolved lexically, never above `/` (without touching the
/// file system).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn mkdir(path: &Path) -> Result<(), SysError> {
    std::fs::create_dir(path).map_err(|e| SysError::io(format!("mkdir({})", path.display()), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_expands_to_devices_pts_and_shm() {
        let ops = plan(&[Mount::Dev { dst: "/dev".into() }]);
        assert_eq!(
            ops[0],
            MountOp::Tmpfs {
                dst: "/dev".into(),
                mode: 0o755
            }
        );
        let devices: Vec<_> = ops
            .iter()
            .filter_map(|op| match op {
                MountOp::Bind {
                    dst,
                    access: Access::Device,
                    ..
                } => Some(dst.to_str().unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(
            devices,
            [
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ]
        );
        assert!(ops.contains(&MountOp::Devpts {
            dst: "/dev/pts".into()
        }));
        assert!(ops.contains(&MountOp::Symlink {
            target: "pts/ptmx".into(),
            link: "/dev/ptmx".into()
        }));
        assert!(ops.contains(&MountOp::Tmpfs {
            dst: "/dev/shm".into(),
            mode: 0o1777
        }));
    }

    #[test]
    fn binds_keep_order_and_access() {
        let ops = plan(&[
            Mount::Bind {
                src: "/".into(),
                dst: "/".into(),
                read_only: true,
            },
            Mount::Tmpfs {
                dst: "/tmp".into(),
                mode: 0o1777,
            },
            Mount::Bind {
                src: "/w".into(),
                dst: "/w".into(),
                read_only: false,
            },
        ]);
        assert_eq!(
            ops.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "ro-bind / on /",
                "tmpfs (mode 1777) on /tmp",
                "bind /w on /w"
            ]
        );
    }

    #[test]
    fn generated_files_are_described_by_their_destination() {
        assert_eq!(
            MountOp::File {
                dst: "/etc/hosts".into(),
                contents: String::new()
            }
            .to_string(),
            "generated file (read-only) on /etc/hosts"
        );
    }

    #[test]
    fn paths_are_placed_under_the_roots() {
        assert_eq!(inside(NEW_ROOT, Path::new("/")), Path::new("/newroot"));
        assert_eq!(
            inside(OLD_ROOT, Path::new("/usr/lib")),
            Path::new("/oldroot/usr/lib")
        );
    }
}
