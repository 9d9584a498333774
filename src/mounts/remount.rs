//! Mount attributes on kernels without mount_setattr(2) (before 5.12): one remount per mount,
//! found in mountinfo, each reached by descriptor through the host's /proc. A mount the host
//! stacked under another on the same mount point cannot be reached by any lookup and keeps its
//! flags; it is as unreachable from inside the sandbox, and so is a mount beneath a directory the
//! user may not search.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::target::{self, Root};
use crate::sys::at;
use crate::sys::{mount_attr, Errno, SysError};

/// The host's /proc while the root is built: magic links to descriptors, and our mountinfo.
pub(super) const PROC_FD: &str = "/oldroot/proc/self/fd";
const MOUNTINFO: &str = "/oldroot/proc/self/mountinfo";

/// Add `attrs` to the attached mount `tree` and to every mount below it, one remount each, by
/// descriptor: the mounts are found in mountinfo and each looked up inside the root through no
/// symlink.
pub(super) fn remount_tree(
    root: &Root,
    tree: &OwnedFd,
    attrs: u64,
    dst: &Path,
    new_root: &Path,
) -> Result<(), SysError> {
    let proc_fd = Path::new(PROC_FD);
    let table = std::fs::read_to_string(MOUNTINFO)
        .map_err(|e| SysError::io("read(/proc/self/mountinfo)", &e))?;
    let top = at::fd_path(tree.as_fd(), proc_fd, dst)?;
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
    for (mount_point, existing) in submounts(&table, &top) {
        let rel = mount_point.strip_prefix(new_root).unwrap_or(&mount_point);
        let shown = target::shown(&target::relative(rel));
        let fd = match at::open_in_root_no_symlinks(root.fd(), rel, &shown) {
            Ok(fd) => fd,
            // Beneath a directory the user may not search (a root-only build or autofs mount on
            // the host): no lookup from inside the sandbox reaches it either, since the ids that
            // could search it are not mapped. ENOENT: unmounted meanwhile.
            Err(e) if matches!(e.errno, Errno::EACCES | Errno::ENOENT) => {
                tracing::debug!(mount = %shown.display(), errno = %e.errno, "submount out of reach, left as it is");
                continue;
            }
            Err(e) => return Err(e),
        };
        // Flags the host set are locked in a user namespace: a remount must repeat them.
        at::remount(fd.as_fd(), existing | add, proc_fd, &shown)?;
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
