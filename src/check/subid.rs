//! `/etc/subuid` and `/etc/subgid`: the subordinate id ranges newuidmap and newgidmap may map
//! for a user (subuid(5)). Each line is `USER:START:COUNT`, USER a login name or a uid. Without a
//! range hutch maps only the user's own id; a distribution image, whose files belong to root,
//! daemons and `nobody` (65534), needs 65536 ids. Ranges of two users must not overlap, or each
//! could own the other's files inside their sandboxes.

use std::path::Path;

use super::{Check, User};
use crate::subid::{free_start, is_owner};
pub use crate::subid::{parse, Range, WANTED};

/// `idmap.subuid` / `idmap.subgid` for `file`.
pub fn check(id: &'static str, file: &Path, user: &User) -> Check {
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
    let shown: Vec<String> = mine.iter().map(|r| r.show()).collect();
    let total: u64 = mine.iter().map(|r| r.count).sum();
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
    let found = format!(
        "{name}: {} ({total} ids) in {}",
        shown.join(", "),
        file.display()
    );
    if total < WANTED {
        return Check::warn(
            id,
            format!("{found}; distribution images need {WANTED}"),
            add,
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
        check("idmap.subuid", &host.paths.etc.join("subuid"), &host.user())
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
