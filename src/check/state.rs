//! hutch's state: `$XDG_DATA_HOME/hutch` (images, environments, their overlay uppers and the
//! live state of running ones), and what logging out does to running environments.
//!
//! `hutch check` changes nothing: a directory that does not exist yet is judged by its nearest
//! existing ancestor, where hutch would create it. The data directory must also be on a file
//! system that can hold an overlay upper layer: not overlayfs itself, nor a network or FUSE file
//! system (see "Upper and Lower" in the kernel's overlayfs documentation).

use std::path::{Path, PathBuf};

use super::{Check, User};

/// statfs(2) `f_type` magic numbers (linux/magic.h): a name, and why an overlay upper cannot
/// live there.
const FILE_SYSTEMS: &[(i64, &str, Option<&str>)] = &[
    (0xEF53, "ext4", None),
    (0x9123_683E, "btrfs", None),
    (0x5846_5342, "xfs", None),
    (0x0102_1994, "tmpfs", None),
    (0x2FC1_2FC1, "zfs", None),
    (0xF2F5_2010, "f2fs", None),
    (0xCA45_1A4E, "bcachefs", None),
    (0x8584_58F6, "ramfs", None),
    (
        0x794C_7630,
        "overlayfs",
        Some("an overlay upper cannot itself be on overlayfs (typical inside a container)"),
    ),
    (0x6969, "nfs", Some("NFS cannot hold an overlay upper")),
    (
        0xFF53_4D42,
        "cifs",
        Some("SMB/CIFS cannot hold an overlay upper"),
    ),
    (
        0xFE53_4D42,
        "smb2",
        Some("SMB cannot hold an overlay upper"),
    ),
    (
        0x6573_5546,
        "fuse",
        Some("FUSE file systems cannot hold an overlay upper"),
    ),
    (0x0102_1997, "9p", Some("9p cannot hold an overlay upper")),
    (
        0xF15F,
        "ecryptfs",
        Some("eCryptfs cannot hold an overlay upper"),
    ),
    (
        0x786F_4256,
        "vboxsf",
        Some("VirtualBox shared folders cannot hold an overlay upper"),
    ),
    (0x7371_7368, "squashfs", Some("squashfs is read-only")),
    (0x9660, "iso9660", Some("iso9660 is read-only")),
];

/// A file system's name (or its magic number), and why it cannot hold an overlay upper.
pub fn file_system(magic: i64) -> (String, Option<&'static str>) {
    match FILE_SYSTEMS.iter().find(|(m, _, _)| *m == magic) {
        Some((_, name, bad)) => ((*name).to_owned(), *bad),
        None => (format!("file system {magic:#x}"), None),
    }
}

/// What decides whether hutch can keep state under `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirFacts {
    pub target: PathBuf,
    /// `target`, or its nearest ancestor that exists.
    pub existing: PathBuf,
    pub is_dir: bool,
    /// The user may create entries in `existing` (access(2) with W_OK and X_OK).
    pub writable: bool,
    /// statfs(2) `f_type` of `existing`.
    pub fs_magic: Option<i64>,
}

impl DirFacts {
    pub fn read(target: &Path) -> DirFacts {
        use nix::unistd::{access, AccessFlags};
        let existing = target
            .ancestors()
            .find(|p| p.symlink_metadata().is_ok())
            .unwrap_or(Path::new("/"))
            .to_owned();
        DirFacts {
            is_dir: existing.is_dir(),
            writable: access(&existing, AccessFlags::W_OK | AccessFlags::X_OK).is_ok(),
            #[allow(clippy::unnecessary_cast)] // `f_type`'s width differs between C libraries
            fs_magic: nix::sys::statfs::statfs(&existing)
                .ok()
                .map(|s| s.filesystem_type().0 as i64),
            target: target.to_owned(),
            existing,
        }
    }
}

/// Judge a state directory; `overlay_upper` when it must be able to hold overlay uppers.
pub fn judge(id: &'static str, facts: &DirFacts, overlay_upper: bool, fix_env: &str) -> Check {
    let target = facts.target.display();
    let existing = facts.existing.display();
    let (fs, bad) = facts
        .fs_magic
        .map(file_system)
        .unwrap_or_else(|| ("unknown file system".into(), None));
    let state = if facts.existing == facts.target {
        format!("{target} ({fs})")
    } else {
        format!("{target} does not exist yet; hutch creates it in {existing} ({fs})")
    };
    if !facts.is_dir {
        return Check::warn(
            id,
            format!("{existing} is not a directory"),
            format!("remove or rename it, or {fix_env}"),
        );
    }
    if !facts.writable {
        return Check::warn(
            id,
            format!("{state}, which you cannot write to"),
            format!("`sudo install -d -o $(id -u) -g $(id -g) {target}`, or {fix_env}"),
        );
    }
    match bad {
        Some(why) if overlay_upper => Check::warn(
            id,
            format!("{state}: {why}"),
            format!("{fix_env} on a local file system (ext4, xfs, btrfs)"),
        ),
        _ => Check::ok(id, format!("{state}, writable")),
    }
}

/// `state.data`: `$XDG_DATA_HOME/hutch`, or `~/.local/share/hutch`.
pub fn data(user: &User) -> Check {
    const ID: &str = "state.data";
    let fix_env = "set XDG_DATA_HOME to a directory of yours";
    let target = match (&user.xdg_data_home, &user.home) {
        (Some(data), _) => data.join("hutch"),
        (None, Some(home)) => home.join(".local/share/hutch"),
        (None, None) => {
            return Check::warn(ID, "neither XDG_DATA_HOME nor HOME is set", fix_env);
        }
    };
    judge(ID, &DirFacts::read(&target), true, fix_env)
}

/// Where logind keeps the users who linger (loginctl enable-linger), and the directory that
/// exists when systemd is the init.
const LINGER_DIR: &str = "/var/lib/systemd/linger";
const SYSTEMD_RUNNING: &str = "/run/systemd/system";

/// `state.runtime`: what logging out does to running environments. Their state is under the
/// data directory, so logind removing `$XDG_RUNTIME_DIR` at the last logout orphans nothing;
/// but without lingering logind stops the user's manager then, and with `KillUserProcesses=yes`
/// (logind.conf(5)) every process of the user, environments included.
pub fn runtime(user: &User) -> Check {
    lingering(user, Path::new(LINGER_DIR), Path::new(SYSTEMD_RUNNING))
}

fn lingering(user: &User, linger_dir: &Path, systemd_running: &Path) -> Check {
    const ID: &str = "state.runtime";
    if !systemd_running.is_dir() {
        return Check::ok(
            ID,
            "no systemd-logind: logging out leaves running environments alone",
        );
    }
    let Some(name) = &user.name else {
        return Check::warn(
            ID,
            format!(
                "cannot tell whether uid {} lingers (no user name); without lingering, logging \
                 out may stop running environments",
                user.uid
            ),
            "`loginctl enable-linger` keeps your environments running after you log out",
        );
    };
    if linger_dir.join(name).exists() {
        return Check::ok(
            ID,
            format!("lingering is on for {name}: environments keep running after you log out"),
        );
    }
    Check::warn(
        ID,
        format!(
            "lingering is off for {name}: at your last logout logind removes XDG_RUNTIME_DIR \
             (hutch keeps nothing there) and, where logind.conf sets KillUserProcesses=yes, \
             stops your running environments"
        ),
        format!("`loginctl enable-linger {name}` keeps them running after you log out"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{testing::FakeHost, Status};
    use super::*;

    const TMPFS: i64 = 0x0102_1994;
    const OVERLAYFS: i64 = 0x794C_7630;

    fn facts(target: &str, existing: &str, writable: bool, fs_magic: i64) -> DirFacts {
        DirFacts {
            target: target.into(),
            existing: existing.into(),
            is_dir: true,
            writable,
            fs_magic: Some(fs_magic),
        }
    }

    #[test]
    fn judges_by_the_nearest_existing_ancestor() {
        let host = FakeHost::new();
        let mut user = host.user();
        host.write("home/alice/.profile", "");
        let check = data(&user);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.found.contains("does not exist yet"), "{check:?}");
        assert!(
            check
                .found
                .contains(&format!("in {}", host.path().join("home/alice").display())),
            "{check:?}"
        );
        // Nothing was created.
        assert!(!host.path().join("home/alice/.local").exists());

        user.xdg_data_home = Some(host.path().join("data"));
        host.write("data/hutch/images/.keep", "");
        let check = data(&user);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.found.ends_with("writable"), "{check:?}");
        assert!(!check.found.contains("does not exist"), "{check:?}");
    }

    #[test]
    fn a_file_in_the_way_is_a_warning() {
        let host = FakeHost::new();
        let mut user = host.user();
        host.write("data", "not a directory");
        user.xdg_data_home = Some(host.path().join("data"));
        let check = data(&user);
        assert_eq!(check.status, Status::Warn);
        assert!(check.found.contains("is not a directory"), "{check:?}");
    }

    #[test]
    fn unwritable_and_unsuitable_file_systems_are_warnings() {
        let ro = judge(
            "state.data",
            &facts("/srv/x/hutch", "/srv", false, TMPFS),
            true,
            "f",
        );
        assert_eq!(ro.status, Status::Warn);
        assert!(ro.found.contains("cannot write"), "{ro:?}");
        let nested = judge(
            "state.data",
            &facts("/h/hutch", "/h/hutch", true, OVERLAYFS),
            true,
            "set XDG_DATA_HOME",
        );
        assert_eq!(nested.status, Status::Warn);
        assert!(nested.found.contains("overlayfs"), "{nested:?}");
        assert!(nested.fix.unwrap().contains("local file system"));
        let nfs = judge("state.data", &facts("/h", "/h", true, 0x6969), true, "f");
        assert_eq!(nfs.status, Status::Warn);
        // The runtime directory holds no overlay upper.
        let runtime = judge(
            "state.runtime",
            &facts("/r", "/r", true, OVERLAYFS),
            false,
            "f",
        );
        assert_eq!(runtime.status, Status::Ok);
    }

    #[test]
    fn lingering_is_reported_with_the_fix() {
        let host = FakeHost::new();
        let mut user = host.user();
        user.name = Some("alice".into());
        let linger = host.path().join("linger");
        let systemd = host.path().join("systemd");
        let no_systemd = lingering(&user, &linger, &systemd);
        assert_eq!(no_systemd.status, Status::Ok, "{no_systemd:?}");
        std::fs::create_dir_all(&systemd).unwrap();
        let off = lingering(&user, &linger, &systemd);
        assert_eq!(off.status, Status::Warn);
        assert!(off.found.contains("lingering is off for alice"), "{off:?}");
        assert_eq!(
            off.fix.as_deref(),
            Some("`loginctl enable-linger alice` keeps them running after you log out")
        );
        host.write("linger/alice", "");
        let on = lingering(&user, &linger, &systemd);
        assert_eq!(on.status, Status::Ok);
        assert!(on.found.contains("lingering is on"), "{on:?}");
        user.name = None;
        assert_eq!(lingering(&user, &linger, &systemd).status, Status::Warn);
    }

    #[test]
    fn names_file_systems() {
        assert_eq!(file_system(0xEF53), ("ext4".into(), None));
        assert!(file_system(0x6573_5546).1.is_some());
        assert_eq!(file_system(0x1234).0, "file system 0x1234");
    }
}
