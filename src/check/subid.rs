//! `/etc/subuid` and `/etc/subgid`: the subordinate id ranges newuidmap and newgidmap may map
//! for a user (subuid(5)). Each line is `USER:START:COUNT`, USER a login name or a uid. Without a
//! range hutch maps only the user's own id; a distribution image, whose files belong to root,
//! daemons and `nobody` (65534), needs 65536 ids. Ranges of two users must not overlap, or each
//! could own the other's files inside their sandboxes.

use std::path::Path;

use super::{Check, User};

/// Enough ids for every id a distribution image uses, `nobody` (65534) included.
pub const WANTED: u64 = 65536;

/// Where usermod(8) starts handing out ranges on most distributions.
const FIRST: u64 = 100_000;

/// One line of a subordinate id file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub owner: String,
    pub start: u64,
    pub count: u64,
}

impl Range {
    fn end(&self) -> u64 {
        self.start.saturating_add(self.count)
    }

    fn overlaps(&self, other: &Range) -> bool {
        self.start < other.end() && other.start < self.end()
    }

    fn show(&self) -> String {
        format!("{}-{}", self.start, self.end().saturating_sub(1))
    }
}

/// The ranges in a subuid/subgid file; comments, blank and malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Range> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut fields = line.split(':');
            let owner = fields.next()?.to_owned();
            let start = fields.next()?.trim().parse().ok()?;
            let count = fields.next()?.trim().parse().ok()?;
            (fields.next().is_none() && !owner.is_empty() && count > 0).then_some(Range {
                owner,
                start,
                count,
            })
        })
        .collect()
}

/// `idmap.subuid` / `idmap.subgid` for `file`.
pub fn check(id: &'static str, file: &Path, user: &User) -> Check {
    let name = user.display_name();
    let uid = user.uid.to_string();
    let is_mine = |r: &Range| Some(&r.owner) == user.name.as_ref() || r.owner == uid;
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
    let free = ranges.iter().map(Range::end).max().unwrap_or(0).max(FIRST);
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

    #[test]
    fn parses_names_and_uids_and_skips_junk() {
        let ranges = parse("# comment\nalice:100000:65536\n\n1001:165536:65536\nbad\nx:1:y\n");
        assert_eq!(
            ranges,
            [
                Range {
                    owner: "alice".into(),
                    start: 100000,
                    count: 65536
                },
                Range {
                    owner: "1001".into(),
                    start: 165536,
                    count: 65536
                },
            ]
        );
    }

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
