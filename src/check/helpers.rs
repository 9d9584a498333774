//! The host tools hutch uses instead of privileges of its own: newuidmap and newgidmap (from
//! shadow's `uidmap` package), which may write id maps with subordinate ranges because they are
//! setuid root or carry the CAP_SETUID / CAP_SETGID file capability; and pasta (or slirp4netns)
//! for networking.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Check;
use crate::sys;

pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;

/// The first executable file called `name` in the directories of `path` (a `$PATH` value).
pub fn find_in_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|file| is_executable(file))
}

/// Whether `file` is a regular file with an execute bit.
pub fn is_executable(file: &Path) -> bool {
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

/// What decides whether an id-mapping helper can do its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperFacts {
    pub path: PathBuf,
    pub mode: u32,
    pub owner: u32,
    /// The raw `security.capability` attribute, if any.
    pub file_caps: Option<Vec<u8>>,
    /// On a file system mounted `nosuid`, which ignores setuid bits and file capabilities.
    pub nosuid_mount: bool,
}

impl HelperFacts {
    pub fn read(path: &Path) -> Result<HelperFacts, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file_caps = sys::getxattr(path, c"security.capability").map_err(|e| e.to_string())?;
        let nosuid_mount = nix::sys::statvfs::statvfs(path)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOSUID));
        Ok(HelperFacts {
            path: path.to_owned(),
            mode: meta.mode(),
            owner: meta.uid(),
            file_caps,
            nosuid_mount,
        })
    }
}

/// The permitted capabilities in a `security.capability` value: `struct vfs_cap_data` (revision
/// 1: one 32-bit word; 2: two) or `struct vfs_ns_cap_data` (revision 3: two words and a root
/// uid), little-endian (linux/capability.h).
pub fn permitted_caps(xattr: &[u8]) -> Option<u64> {
    let word = |i: usize| -> Option<u64> {
        let bytes = xattr.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?).into())
    };
    match word(0)? & 0xff00_0000 {
        0x0100_0000 => word(1),
        0x0200_0000 | 0x0300_0000 => Some(word(1)? | word(3)? << 32),
        _ => None,
    }
}

fn cap_name(cap: u32) -> String {
    match cap {
        CAP_SETUID => "cap_setuid".into(),
        CAP_SETGID => "cap_setgid".into(),
        other => format!("capability {other}"),
    }
}

/// `idmap.newuidmap` / `idmap.newgidmap`: `found` is where the tool was found in `$PATH`, `cap`
/// the capability it needs; `no_new_privs` whether this process runs with no_new_privs.
pub fn id_mapper(id: &'static str, found: Option<PathBuf>, cap: u32, no_new_privs: bool) -> Check {
    let facts = found.map(|path| HelperFacts::read(&path).map_err(|e| (path, e)));
    judge_id_mapper(id, facts, cap, no_new_privs)
}

pub fn judge_id_mapper(
    id: &'static str,
    facts: Option<Result<HelperFacts, (PathBuf, String)>>,
    cap: u32,
    no_new_privs: bool,
) -> Check {
    let tool = id.rsplit('.').next().unwrap_or(id);
    let facts =
        match facts {
            None => return Check::warn(
                id,
                format!("{tool} is not in PATH"),
                "`sudo apt install uidmap` (Debian, Ubuntu) or `sudo dnf install shadow-utils` \
                 (Fedora); environments made from distribution images need it for id ranges",
            ),
            Some(Err((path, error))) => {
                return Check::warn(
                    id,
                    format!("cannot inspect {}: {error}", path.display()),
                    "make it readable, or reinstall the `uidmap` package",
                )
            }
            Some(Ok(facts)) => facts,
        };
    let path = facts.path.display();
    if no_new_privs {
        // Whatever its mode and attributes: execve grants no privileges under no_new_privs.
        return Check::warn(
            id,
            format!(
                "this process runs with no_new_privs, so {path} cannot gain privileges (inside \
                 a sandbox, or a service with NoNewPrivileges=yes)"
            ),
            "run hutch outside that sandbox or service",
        );
    }
    let setuid_root = facts.mode & 0o4000 != 0 && facts.owner == 0;
    let has_cap = facts
        .file_caps
        .as_deref()
        .and_then(permitted_caps)
        .is_some_and(|caps| caps & (1 << cap) != 0);
    let how = if setuid_root {
        "setuid root".to_owned()
    } else if has_cap {
        format!("file capability {}", cap_name(cap))
    } else {
        return Check::warn(
            id,
            format!(
                "{path} is neither setuid root nor has the {} file capability",
                cap_name(cap)
            ),
            format!(
                "reinstall it (`sudo apt install --reinstall uidmap`), or `sudo chmod u+s {path}`"
            ),
        );
    };
    if facts.nosuid_mount {
        return Check::warn(
            id,
            format!("{path} is {how}, but on a file system mounted nosuid, which ignores that"),
            "install it on a file system mounted without nosuid",
        );
    }
    Check::ok(id, format!("{path} ({how})"))
}

/// `net.helper`: pasta, which `--net pasta` runs. slirp4netns is only reported: hutch does not
/// use it.
pub fn net(pasta: Option<PathBuf>, slirp4netns: Option<PathBuf>) -> Check {
    const ID: &str = "net.helper";
    match (pasta, slirp4netns) {
        (Some(pasta), _) => Check::ok(ID, format!("pasta at {}", pasta.display())),
        (None, Some(slirp)) => Check::warn(
            ID,
            format!(
                "pasta is not in PATH; slirp4netns is ({}), but hutch needs pasta for --net pasta",
                slirp.display()
            ),
            "`sudo apt install passt` (Debian, Ubuntu) or `sudo dnf install passt` (Fedora)",
        ),
        (None, None) => Check::warn(
            ID,
            "neither pasta nor slirp4netns is in PATH: sandboxes can have no network or the \
             host's, not their own",
            "`sudo apt install passt` (Debian, Ubuntu) or `sudo dnf install passt` (Fedora)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::super::{testing::FakeHost, Status};
    use super::*;

    fn facts(mode: u32, owner: u32, file_caps: Option<Vec<u8>>) -> HelperFacts {
        HelperFacts {
            path: "/usr/bin/newuidmap".into(),
            mode,
            owner,
            file_caps,
            nosuid_mount: false,
        }
    }

    fn judge(facts: HelperFacts) -> Check {
        judge_id_mapper("idmap.newuidmap", Some(Ok(facts)), CAP_SETUID, false)
    }

    /// A revision-2 `security.capability` value granting `caps` (permitted, effective).
    fn xattr_v2(caps: u64) -> Vec<u8> {
        let mut v = Vec::new();
        for word in [0x0200_0001u32, caps as u32, 0, (caps >> 32) as u32, 0] {
            v.extend(word.to_le_bytes());
        }
        v
    }

    #[test]
    fn reads_permitted_capabilities() {
        assert_eq!(permitted_caps(&xattr_v2(1 << CAP_SETUID)), Some(1 << 7));
        let mut v3 = xattr_v2(1 << 40);
        v3[3] = 0x03;
        v3.extend(0u32.to_le_bytes());
        assert_eq!(permitted_caps(&v3), Some(1 << 40));
        let v1 = [0x0100_0000u32.to_le_bytes(), 0x40u32.to_le_bytes()].concat();
        assert_eq!(permitted_caps(&v1), Some(0x40));
        assert_eq!(permitted_caps(&[1, 2]), None);
        assert_eq!(permitted_caps(&[0; 20]), None);
    }

    #[test]
    fn setuid_root_or_the_capability_is_enough() {
        assert_eq!(judge(facts(0o104755, 0, None)).status, Status::Ok);
        let with_cap = judge(facts(0o100755, 0, Some(xattr_v2(1 << CAP_SETUID))));
        assert_eq!(with_cap.status, Status::Ok);
        assert!(with_cap.found.contains("file capability cap_setuid"));
    }

    #[test]
    fn without_setuid_or_capability_it_is_a_warning() {
        let plain = judge(facts(0o100755, 0, None));
        assert_eq!(plain.status, Status::Warn);
        assert!(plain.fix.unwrap().contains("chmod u+s"));
        // setuid, but not owned by root: grants nothing.
        assert_eq!(judge(facts(0o104755, 1000, None)).status, Status::Warn);
        // the wrong capability.
        let wrong = judge(facts(0o100755, 0, Some(xattr_v2(1 << CAP_SETGID))));
        assert_eq!(wrong.status, Status::Warn);
    }

    #[test]
    fn nosuid_and_no_new_privs_defeat_setuid() {
        let mut nosuid = facts(0o104755, 0, None);
        nosuid.nosuid_mount = true;
        assert_eq!(judge(nosuid).status, Status::Warn);
        // Inside a user namespace root's files show as owned by the overflow uid.
        for owner in [0, 65534] {
            let nnp = judge_id_mapper(
                "idmap.newuidmap",
                Some(Ok(facts(0o104755, owner, None))),
                CAP_SETUID,
                true,
            );
            assert_eq!(nnp.status, Status::Warn);
            assert!(nnp.found.contains("no_new_privs"), "{nnp:?}");
        }
    }

    #[test]
    fn a_missing_tool_names_the_package() {
        let host = FakeHost::new();
        let user = host.user();
        let found = find_in_path("newuidmap", &user.path);
        assert_eq!(found, None);
        let check = id_mapper("idmap.newuidmap", found, CAP_SETUID, false);
        assert_eq!(check.status, Status::Warn);
        assert!(check.fix.unwrap().contains("apt install uidmap"));
    }

    #[test]
    fn finds_executables_in_path_and_reads_their_mode() {
        let host = FakeHost::new();
        let not_exec = host.write("bin/newuidmap", "");
        let user = host.user();
        assert_eq!(find_in_path("newuidmap", &user.path), None);
        std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o4755)).unwrap();
        let found = find_in_path("newuidmap", &user.path).unwrap();
        let facts = HelperFacts::read(&found).unwrap();
        assert_eq!(facts.mode & 0o7777, 0o4755);
        assert_eq!(facts.file_caps, None);
        let expected = if facts.owner == 0 && !facts.nosuid_mount {
            Status::Ok
        } else {
            Status::Warn
        };
        assert_eq!(
            id_mapper("idmap.newuidmap", Some(found), CAP_SETUID, false).status,
            expected
        );
    }

    #[test]
    fn network_helpers() {
        assert_eq!(net(Some("/usr/bin/pasta".into()), None).status, Status::Ok);
        let slirp = net(None, Some("/usr/bin/slirp4netns".into()));
        assert_eq!(slirp.status, Status::Warn);
        assert!(slirp.found.contains("needs pasta"));
        let none = net(None, None);
        assert_eq!(none.status, Status::Warn);
        assert!(none.fix.unwrap().contains("apt install passt"));
    }
}
