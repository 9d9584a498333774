//! The sandbox's file system view, built in its own mount namespace (mount_namespaces(7)).
//!
//! [`plan`] turns the spec's mounts into an ordered list of [`MountOp`]s without touching the
//! system; [`build_root`] applies them. The new root is assembled under a scratch tmpfs: the
//! host's root is moved to `/oldroot` with a first pivot_root(2), every source is taken from
//! there and every destination lives under `/newroot`, and a second pivot_root plus a lazy
//! unmount leaves nothing of the host reachable by path except what was bound in.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use crate::sys::{self, mount_attr, Errno, SysError};

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
            MountOp::Symlink { target, link } => {
                write!(f, "symlink {} -> {}", link.display(), target.display())
            }
            MountOp::File { dst, .. } => {
                write!(f, "generated file (read-only) on {}", dst.display())
            }
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
        #[source]
        source: std::io::Error,
    },
    #[error("cannot switch to the new root")]
    SwitchRoot(#[source] SysError),
}

impl MountError {
    pub fn hint(&self, proc_sys: &Path) -> Option<String> {
        match self {
            MountError::MountPoint { source, .. } if source.raw_os_error() == Some(libc::EROFS) => {
                Some(
                    "the destination does not exist and its parent is read-only in the sandbox; \
                 put a --tmpfs on a parent directory first, or choose a destination that exists"
                        .into(),
                )
            }
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

    for (index, op) in ops.iter().enumerate() {
        apply(index, op).map_err(|e| e.with_op(op))?;
    }

    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
    // the new root, with no directory of the host's left to climb back through (pivot_root(2),
    // NOTES).
    let switch = || -> Result<(), SysError> {
        sys::chdir(new_root)?;
        sys::pivot_root(Path::new("."), Path::new("."))?;
        sys::detach_mount(Path::new("."))?;
        sys::chdir(Path::new("/"))
    };
    switch().map_err(MountError::SwitchRoot)
}

/// An op failure before the op's description is attached.
enum Failure {
    Sys(SysError),
    MountPoint(PathBuf, std::io::Error),
}

impl Failure {
    fn with_op(self, op: &MountOp) -> MountError {
        match self {
            Failure::Sys(source) => MountError::Op {
                op: op.to_string(),
                source,
            },
            Failure::MountPoint(path, source) => MountError::MountPoint {
                op: op.to_string(),
                path,
                source,
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

/// Carry out `op`, the plan's `index`th.
fn apply(index: usize, op: &MountOp) -> Result<(), Failure> {
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    match op {
        MountOp::Bind { src, dst, access } => {
            let src = inside(OLD_ROOT, src);
            let dst = inside(NEW_ROOT, dst);
            let is_dir = std::fs::metadata(&src).map(|m| m.is_dir()).unwrap_or(true);
            make_mount_point(&dst, is_dir)?;
            sys::mount(
                Some(&src),
                &dst,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )?;
            let attrs = match access {
                Access::ReadOnly => mount_attr::RDONLY | mount_attr::NOSUID | mount_attr::NODEV,
                Access::ReadWrite => mount_attr::NOSUID | mount_attr::NODEV,
                Access::Device => return Ok(()),
            };
            set_attrs_recursive(&dst, attrs, Path::new("/proc/self/mountinfo"))?;
        }
        MountOp::Overlay {
            lower,
            upper,
            work,
            dst,
        } => {
            let dst = inside(NEW_ROOT, dst);
            make_mount_point(&dst, true)?;
            // userxattr: an unprivileged overlay keeps its whiteouts in user.* xattrs (5.11+).
            let data = format!(
                "lowerdir={},upperdir={},workdir={},userxattr",
                inside(OLD_ROOT, lower).display(),
                inside(OLD_ROOT, upper).display(),
                inside(OLD_ROOT, work).display()
            );
            sys::mount(None, &dst, Some("overlay"), nosuid_nodev, Some(&data))?;
        }
        MountOp::Tmpfs { dst, mode } => {
            let dst = inside(NEW_ROOT, dst);
            make_mount_point(&dst, true)?;
            // A directory of the scratch tmpfs, bound: a new tmpfs per mount point would make a
            // superblock each, to set up and tear down at every start (a dozen with the default
            // profile). The bind keeps the scratch mount's nosuid and nodev, and all of them
            // together are held to one tmpfs's size.
            let staged = Path::new(TMPFS_DIRS).join(index.to_string());
            std::fs::create_dir(&staged)
                .and_then(|()| {
                    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(*mode))
                })
                .map_err(|e| Failure::MountPoint(staged.clone(), e))?;
            sys::mount(Some(&staged), &dst, None, MsFlags::MS_BIND, None)?;
        }
        MountOp::Proc { dst } => {
            let dst = inside(NEW_ROOT, dst);
            make_mount_point(&dst, true)?;
            sys::mount(
                None,
                &dst,
                Some("proc"),
                nosuid_nodev | MsFlags::MS_NOEXEC,
                None,
            )?;
        }
        MountOp::Devpts { dst } => {
            let dst = inside(NEW_ROOT, dst);
            make_mount_point(&dst, true)?;
            // A new instance: the sandbox's terminals are its own, the host's stay invisible.
            let data = "newinstance,ptmxmode=0666,mode=620";
            sys::mount(
                None,
                &dst,
                Some("devpts"),
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                Some(data),
            )?;
        }
        MountOp::Symlink { target, link } => {
            let link = inside(NEW_ROOT, link);
            std::os::unix::fs::symlink(target, &link).map_err(|e| Failure::MountPoint(link, e))?;
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
                .map_err(|e| Failure::MountPoint(staged.clone(), e))?;
            // /etc/resolv.conf is often a symlink (systemd-resolved's lives in /run): cover
            // what it points to inside the new root, not the scratch root's idea of it.
            let dst = inside(NEW_ROOT, &follow_in_root(Path::new(NEW_ROOT), dst));
            make_mount_point(&dst, false)?;
            sys::mount(Some(&staged), &dst, None, MsFlags::MS_BIND, None)?;
            let attrs = mount_attr::RDONLY | mount_attr::NOSUID | mount_attr::NODEV;
            set_attrs_recursive(&dst, attrs, Path::new("/proc/self/mountinfo"))?;
        }
    }
    Ok(())
}

/// Where generated files are staged in the scratch root.
const GENERATED: &str = "/generated";
/// Where the directories bound as the plan's tmpfs mounts live in the scratch root.
const TMPFS_DIRS: &str = "/tmpfs";

/// `path` (a path inside the sandbox) with symlinks in its last component followed as if
/// `root` were `/`; `..` never climbs above `root`. Gives up after 16 links, as a loop would.
fn follow_in_root(root: &Path, path: &Path) -> PathBuf {
    let mut path = path.to_owned();
    for _ in 0..16 {
        let Ok(target) = std::fs::read_link(inside(&root.to_string_lossy(), &path)) else {
            break;
        };
        let base = path.parent().unwrap_or(Path::new("/")).to_owned();
        // An absolute target replaces the base when joined.
        path = normalize(&base.join(target));
    }
    path
}

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

/// Make sure something exists at `path` to mount on: a directory, or for `is_dir == false` a
/// file. What is there already serves (the mount itself then says if it does not fit). One
/// syscall when the parent exists, as it does for all but the first mount of a tree.
fn make_mount_point(path: &Path, is_dir: bool) -> Result<(), Failure> {
    let create = || {
        if is_dir {
            std::fs::create_dir(path)
        } else {
            // O_EXCL: an existing file is never opened; opening a device can act (a watchdog
            // starts counting).
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map(drop)
        }
    };
    let result = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| create()),
        other => other,
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // In a directory we may not write to (EACCES, EROFS), but there already: it serves.
        Err(_) if path.exists() => Ok(()),
        Err(e) => Err(Failure::MountPoint(path.to_owned(), e)),
    }
}

/// Set mount attributes on `path` and everything mounted below it: one mount_setattr(2) call
/// where the kernel has it (5.12+), otherwise one remount per mount found in `mountinfo`.
fn set_attrs_recursive(path: &Path, attrs: u64, mountinfo: &Path) -> Result<(), SysError> {
    match sys::mount_setattr_recursive(path, attrs) {
        Err(e) if e.errno == Errno::ENOSYS => {}
        other => return other,
    }
    let table = std::fs::read_to_string(mountinfo)
        .map_err(|e| SysError::io(format!("read({})", mountinfo.display()), &e))?;
    let mut add = MsFlags::empty();
    for (bit, flag) in [
        (mount_attr::RDONLY, MsFlags::MS_RDONLY),
        (mount_attr::NOSUID, MsFlags::MS_NOSUID),
        (mount_attr::NODEV, MsFlags::MS_NODEV),
    ] {
        if attrs & bit != 0 {
            add |= flag;
        }
    }
    for (mount_point, existing) in submounts(&table, path) {
        // Flags the host set are locked in a user namespace: a remount must repeat them.
        let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | existing | add;
        sys::mount(None, &mount_point, None, flags, None)?;
    }
    Ok(())
}

/// Mount points at or below `under` in a mountinfo table, with the per-mount flags they have.
fn submounts(mountinfo: &str, under: &Path) -> Vec<(PathBuf, MsFlags)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let mount_point = PathBuf::from(unescape(fields.nth(4)?));
            let options = fields.next()?;
            mount_point
                .starts_with(under)
                .then(|| (mount_point, mount_flags(options)))
        })
        .collect()
}

fn mount_flags(options: &str) -> MsFlags {
    options
        .split(',')
        .map(|o| match o {
            "ro" => MsFlags::MS_RDONLY,
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "noatime" => MsFlags::MS_NOATIME,
            "nodiratime" => MsFlags::MS_NODIRATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            _ => MsFlags::empty(),
        })
        .fold(MsFlags::empty(), |a, b| a | b)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn generated_files_follow_symlinks_inside_the_new_root() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            etc.join("resolv.conf"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/hosts.real", etc.join("hosts")).unwrap();
        std::os::unix::fs::symlink("../../../../x", etc.join("climber")).unwrap();
        std::os::unix::fs::symlink("loop", etc.join("loop")).unwrap();
        let follow = |p: &str| follow_in_root(root.path(), Path::new(p));
        assert_eq!(
            follow("/etc/resolv.conf"),
            Path::new("/run/systemd/resolve/stub-resolv.conf")
        );
        assert_eq!(follow("/etc/hosts"), Path::new("/etc/hosts.real"));
        assert_eq!(follow("/etc/climber"), Path::new("/x"));
        assert_eq!(follow("/etc/loop"), Path::new("/etc/loop"));
        assert_eq!(follow("/etc/plain"), Path::new("/etc/plain"));
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

    #[test]
    fn fallback_finds_submounts_with_their_locked_flags() {
        let table = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:22 / /newroot rw,relatime - ext4 /dev/vda rw
24 23 0:23 / /newroot/sys ro,nosuid,nodev,noexec - sysfs sysfs rw
25 23 0:24 / /newroot/with\\040space rw,noatime - tmpfs tmpfs rw
26 22 0:25 / /newroot2 rw - tmpfs tmpfs rw
";
        let found = submounts(table, Path::new("/newroot"));
        assert_eq!(
            found,
            [
                (PathBuf::from("/newroot"), MsFlags::MS_RELATIME),
                (
                    PathBuf::from("/newroot/sys"),
                    MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC
                ),
                (PathBuf::from("/newroot/with space"), MsFlags::MS_NOATIME),
            ]
        );
    }
}
