//! `/etc/subuid` and `/etc/subgid`: the subordinate id ranges newuidmap and newgidmap may map
//! for a user (subuid(5)). Each line is `USER:START:COUNT`, USER a login name or a uid. Without a
//! range hutch maps only the user's own id; a distribution image, whose files belong to root,
//! daemons and `nobody` (65534), needs 65536 ids. Ranges of two users must not overlap, or each
//! could own the other's files inside their sandboxes.
//!
//! The ranges come from where newuidmap takes them (see [`SubidSource`]): the files, or the NSS
//! service that `subid:` in nsswitch.conf names, asked through getsubids. The report says which.

use std::path::Path;

use super::{Check, User};
use crate::subid::{free_start, is_owner, SubidSource};
pub use crate::subid::{parse, Range, WANTED};

/// `idmap.subuid` (`gids` false) or `idmap.subgid` from `source`; the files are in `etc`.
pub fn check(id: &'static str, source: &SubidSource, etc: &Path, gids: bool, user: &User) -> Check {
    let mut check = match source {
        SubidSource::Files => {
            let file = etc.join(if gids { "subgid" } else { "subuid" });
            from_file(id, &file, user)
        }
        SubidSource::Service { name, getsubids } => {
            from_service(id, source, name, getsubids.is_some(), etc, gids, user)
        }
    };
    check.source = Some(source.kind());
    check
}

/// The ranges newuidmap would find in `file`, and other users' ranges that overlap them.
fn from_file(id: &'static str, file: &Path, user: &User) -> Check {
    let name = user.display_name();
    let uid = user.uid.to_string();
    let is_mine = |r: &Range| is_owner(r, user.name.as_deref(), user.uid);
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Check::warn(
                id,
                format!("cannot read {}: {e}", file.display()),
                format!("make {} readable (mode 0644)", file.display()),
            )
        }
    };
    let ranges = parse(&text);
    let (mine, others): (Vec<&Range>, Vec<&Range>) = ranges.iter().partition(|r| is_mine(r));
    let free = free_start(&ranges);
    let add = format!(
        "`sudo usermod --add-subuids {free}-{last} --add-subgids {free}-{last} {name}`",
        last = free + WANTED - 1
    );
    let without = "until then hutch maps only your own id, which is enough for `hutch run` but \
                   not for distribution images";
    if mine.is_empty() {
        return Check::warn(
            id,
            format!("no range for {name} (uid {uid}) in {}", file.display()),
            format!("{add}; {without}"),
        );
    }
    let clashes: Vec<String> = mine
        .iter()
        .flat_map(|m| others.iter().filter(|o| m.overlaps(o)).map(move |o| (m, o)))
        .map(|(m, o)| format!("{} overlaps {}'s {}", m.show(), o.owner, o.show()))
        .collect();
    if !clashes.is_empty() {
        return Check::warn(
            id,
            format!(
                "in {}: {}; each user could own the other's files",
                file.display(),
                clashes.join(", ")
            ),
            format!(
                "edit {} so that no two users' ranges overlap",
                file.display()
            ),
        );
    }
    enough(id, &name, &mine, &format!("in {}", file.display()), add)
}

/// The ranges an NSS service (`subid: NAME`) gives the user, through getsubids.
fn from_service(
    id: &'static str,
    source: &SubidSource,
    service: &str,
    has_getsubids: bool,
    etc: &Path,
    gids: bool,
    user: &User,
) -> Check {
    let name = user.display_name();
    let label = source.label(gids);
    if !has_getsubids {
        return Check::warn(
            id,
            format!(
                "{} takes subordinate ids from `{service}`, and getsubids, which hutch asks \
                 them through, is not installed",
                crate::subid::NSSWITCH
            ),
            "install getsubids (`sudo apt install uidmap`, shadow-utils-subid on Fedora); until \
             then hutch maps only your own id",
        );
    }
    let text = source.read(etc, gids, &name);
    let ranges = parse(&text);
    let mine: Vec<&Range> = ranges.iter().collect();
    let ask = format!(
        "ask the administrators of `{service}` for a range of {WANTED} subordinate uids and gids \
         for {name} (FreeIPA: `ipa subid-generate --owner {name}`)"
    );
    if mine.is_empty() {
        return Check::warn(
            id,
            format!("no range for {name} (uid {}) from {label}", user.uid),
            format!("{ask}; until then hutch maps only your own id"),
        );
    }
    enough(id, &name, &mine, &format!("from {label}"), ask)
}

/// Ok when `mine` holds [`WANTED`] ids, else a warning with `fix`; `whence` says where they
/// were found.
fn enough(id: &'static str, name: &str, mine: &[&Range], whence: &str, fix: String) -> Check {
    let shown: Vec<String> = mine.iter().map(|r| r.show()).collect();
    let total: u64 = mine.iter().map(|r| r.count).sum();
    let found = format!("{name}: {} ({total} ids) {whence}", shown.join(", "));
    if total < WANTED {
        return Check::warn(
            id,
            format!("{found}; distribution images need {WANTED}"),
            fix,
        );
    }
    Check::ok(id, found)
}

#[cfg(test)]
mod tests {
    use super::super::{testing::FakeHost, Status};
    use super::*;

    fn check_with(contents: Option<&str>) -> Check {
        let host = FakeHost::new();
        if let Some(contents) = contents {
            host.write("etc/subuid", contents);
        }
        check(
            "idmap.subuid",
            &SubidSource::Files,
            &host.paths.etc,
            false,
            &host.user(),
        )
    }

    #[test]
    fn names_its_source() {
        let files = check_with(Some("alice:100000:65536\n"));
        assert_eq!(files.source, Some("files"));
        assert!(files.found.ends_with("/etc/subuid"), "{files:?}");
        let json = serde_json::to_value(&files).unwrap();
        assert_eq!(json["source"], "files");
    }

    /// A host whose nsswitch.conf says `subid: sss`, with getsubids (a stand-in answering
    /// `answer` for alice) in its PATH when `answer` is given.
    fn check_service(answer: Option<&str>) -> Check {
        let host = FakeHost::new();
        host.write("etc/nsswitch.conf", "passwd: files sss\nsubid: sss\n");
        // A file range that must not count: newuidmap would not look there.
        host.write("etc/subuid", "alice:100000:65536\n");
        let mut user = host.user();
        user.path = host.path().join("bin").into_os_string();
        if let Some(answer) = answer {
            std::fs::create_dir_all(host.path().join("bin")).unwrap();
            crate::subid::tests::write_script(
                &host.path().join("bin/getsubids"),
                &format!("#!/bin/sh\n[ \"$1\" = alice ] && printf '{answer}'\n"),
            );
        }
        let source = SubidSource::of_host(&host.paths.etc.join("nsswitch.conf"), &user.path);
        check("idmap.subuid", &source, &host.paths.etc, false, &user)
    }

    #[test]
    fn an_nss_service_is_read_through_getsubids() {
        let ok = check_service(Some("0: alice 500000 65536\\n"));
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert_eq!(ok.source, Some("getsubids"));
        assert_eq!(
            ok.found,
            "alice: 500000-565535 (65536 ids) from getsubids (subid: sss in /etc/nsswitch.conf)"
        );
        let none = check_service(Some(""));
        assert_eq!(none.status, Status::Warn);
        assert!(none.found.starts_with("no range for alice"), "{none:?}");
        assert!(none.fix.unwrap().contains("ipa subid-generate"));
        let missing = check_service(None);
        assert_eq!(missing.status, Status::Warn);
        assert!(missing.found.contains("getsubids"), "{missing:?}");
        assert!(missing.fix.unwrap().starts_with("install getsubids"));
    }

    #[test]
    fn a_full_range_by_name_or_by_uid_is_ok() {
        let by_name = check_with(Some("alice:100000:65536\nbob:165536:65536\n"));
        assert_eq!(by_name.status, Status::Ok, "{by_name:?}");
        assert!(
            by_name.found.contains("100000-165535 (65536 ids)"),
            "{by_name:?}"
        );
        let by_uid = check_with(Some("1000:100000:65536\n"));
        assert_eq!(by_uid.status, Status::Ok, "{by_uid:?}");
    }

    #[test]
    fn a_missing_file_or_entry_suggests_a_free_range() {
        let no_file = check_with(None);
        assert_eq!(no_file.status, Status::Warn);
        assert!(no_file.fix.unwrap().contains("--add-subuids 100000-165535"));
        let no_entry = check_with(Some("bob:100000:65536\ncarol:165536:65536\n"));
        assert_eq!(no_entry.status, Status::Warn);
        assert!(no_entry.found.contains("no range for alice (uid 1000)"));
        let fix = no_entry.fix.unwrap();
        assert!(fix.contains("--add-subuids 231072-296607"), "{fix}");
        assert!(fix.ends_with("not for distribution images"), "{fix}");
    }

    #[test]
    fn a_small_range_is_a_warning() {
        let small = check_with(Some("alice:100000:1000\n"));
        assert_eq!(small.status, Status::Warn);
        assert!(small.found.contains("1000 ids"), "{small:?}");
        assert!(small.found.contains("need 65536"), "{small:?}");
    }

    #[test]
    fn overlapping_ranges_are_a_warning() {
        let clash = check_with(Some("alice:100000:65536\nbob:150000:65536\n"));
        assert_eq!(clash.status, Status::Warn);
        assert!(
            clash
                .found
                .contains("100000-165535 overlaps bob's 150000-215535"),
            "{clash:?}"
        );
        // Adjacent ranges do not overlap.
        assert_eq!(
            check_with(Some("alice:100000:65536\nbob:165536:65536\n")).status,
            Status::Ok
        );
    }
}
