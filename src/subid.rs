//! Subordinate id ranges: which uids and gids beyond their own a user may map into a user
//! namespace, as `/etc/subuid` and `/etc/subgid` grant them (subuid(5), subgid(5)).
//!
//! Each line is `USER:START:COUNT`, USER a login name or a uid. The setuid helpers
//! newuidmap(1)/newgidmap(1) from shadow's `uidmap` package check a requested map against these
//! files, so hutch reads the same lines the same way and asks only for what they grant. A
//! distribution image, whose files belong to root, daemons and `nobody` (65534), needs 65536 ids;
//! fewer still work but owners above the range cannot be kept. Two users' ranges must not
//! overlap, or each could own the other's files inside their namespaces.
//!
//! Everything here is pure: [`decide`] turns the files' text and the helpers' locations into a
//! [`IdPlan`] — ranges, or one id with one warning saying what that costs and how to fix it.
//! [`crate::idmap`] applies the plan.

use std::path::PathBuf;

use crate::idmap::{IdMap, IdMapEntry};

/// Enough ids for every id a distribution image uses, `nobody` (65534) included.
pub const WANTED: u64 = 65536;

/// Where usermod(8) starts handing out ranges on most distributions.
pub const FIRST: u64 = 100_000;

/// The kernel takes at most 340 lines per map (user_namespaces(7), since Linux 4.15); one is the
/// user's own id.
const MAX_RANGES: usize = 339;

/// One line of a subordinate id file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub owner: String,
    pub start: u64,
    pub count: u64,
}

impl Range {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.count)
    }

    pub fn overlaps(&self, other: &Range) -> bool {
        self.start < other.end() && other.start < self.end()
    }

    fn contains(&self, id: u64) -> bool {
        self.start <= id && id < self.end()
    }

    /// `100000-165535`.
    pub fn show(&self) -> String {
        format!("{}-{}", self.start, self.end().saturating_sub(1))
    }
}

/// The ranges in a subuid/subgid file; comments, blank and malformed lines, and empty ranges
/// (`COUNT` 0) are skipped.
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

/// Is this line's owner the user, named `user` (if the passwd entry has a name) or `uid`?
pub fn is_owner(range: &Range, user: Option<&str>, uid: u32) -> bool {
    Some(range.owner.as_str()) == user || range.owner == uid.to_string()
}

/// The user's ranges in a subuid/subgid file's `text`, in file order, by name and by uid.
pub fn ranges_for(user: Option<&str>, uid: u32, text: &str) -> Vec<Range> {
    parse(text)
        .into_iter()
        .filter(|r| is_owner(r, user, uid))
        .collect()
}

/// The first id of a free block of [`WANTED`] ids after every range in the file: what to
/// suggest to `usermod --add-subuids`.
pub fn free_start(ranges: &[Range]) -> u64 {
    ranges.iter().map(Range::end).max().unwrap_or(0).max(FIRST)
}

/// The usable part of one file for one user: the ranges to map and what is wrong with the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usable {
    pub ranges: Vec<Range>,
    /// Problems that leave the ranges usable (too small, overlapping another user's).
    pub warnings: Vec<String>,
    /// Why there is nothing usable, when `ranges` is empty.
    pub missing: Option<String>,
}

/// Pick the ranges of `text` (the file `file`) that can go into one map for the user whose own
/// id is `own`: ranges that overflow 32 bits, contain `own` or overlap an earlier one of the
/// user's are dropped (the kernel rejects overlapping maps); overlaps with other users' ranges
/// and a total below [`WANTED`] are warned about.
pub fn usable(file: &str, user: Option<&str>, uid: u32, own: u32, text: &str) -> Usable {
    let all = parse(text);
    let (mine, others): (Vec<&Range>, Vec<&Range>) =
        all.iter().partition(|r| is_owner(r, user, uid));
    let mut ranges: Vec<Range> = Vec::new();
    let mut warnings = Vec::new();
    for range in mine {
        let why = if range.end() > u64::from(u32::MAX) {
            Some("goes beyond the 32-bit id space".to_string())
        } else if range.contains(own.into()) {
            Some(format!("contains your own id {own}"))
        } else if let Some(earlier) = ranges.iter().find(|r| r.overlaps(range)) {
            Some(format!("overlaps your range {}", earlier.show()))
        } else if ranges.len() == MAX_RANGES {
            Some(format!(
                "is beyond the kernel's limit of {MAX_RANGES} ranges"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            warnings.push(format!("{file}: ignoring range {}: it {why}", range.show()));
            continue;
        }
        for other in others.iter().filter(|o| o.overlaps(range)) {
            warnings.push(format!(
                "{file}: your range {} overlaps {}'s {}; each of you could own the other's files",
                range.show(),
                other.owner,
                other.show()
            ));
        }
        ranges.push(range.clone());
    }
    let total: u64 = ranges.iter().map(|r| r.count).sum();
    let who = user.map_or_else(|| uid.to_string(), str::to_owned);
    let missing = ranges
        .is_empty()
        .then(|| format!("no usable range for {who} (uid {uid}) in {file}"));
    if !ranges.is_empty() && total + 1 < WANTED {
        warnings.push(format!(
            "{file}: {who} has {total} subordinate ids; owners above {total} (e.g. nobody, \
             65534) cannot be kept and become root; a distribution image needs {}",
            WANTED - 1
        ));
    }
    Usable {
        ranges,
        warnings,
        missing,
    }
}

/// Everything [`decide`] looks at, gathered by the caller (see [`HostIds::current`]).
#[derive(Debug, Clone)]
pub struct HostIds {
    pub user: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub subuid: String,
    pub subgid: String,
    pub newuidmap: Option<PathBuf>,
    pub newgidmap: Option<PathBuf>,
}

impl HostIds {
    /// This process's user, `/etc/subuid`, `/etc/subgid` and the helpers found in `$PATH`.
    pub fn current() -> HostIds {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        // Never NSS (see crate::account): the passwd file's name, else `$USER`.
        let passwd = std::path::Path::new(crate::account::PASSWD);
        let user = crate::account::Account::resolve(uid, gid, |k| std::env::var_os(k), passwd)
            .subid_owner_name(passwd);
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        HostIds {
            user,
            uid,
            gid,
            subuid: read("/etc/subuid"),
            subgid: read("/etc/subgid"),
            newuidmap: crate::check::helpers::find_in_path("newuidmap", &path),
            newgidmap: crate::check::helpers::find_in_path("newgidmap", &path),
        }
    }
}

/// How a user namespace of hutch's gets its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdPlan {
    /// 0 → the user, 1..N → the subordinate ranges; written by newuidmap/newgidmap from the
    /// parent.
    Ranges {
        uid_map: IdMap,
        gid_map: IdMap,
        newuidmap: PathBuf,
        newgidmap: PathBuf,
    },
    /// 0 → the user only, written by the child itself (setgroups denied).
    Single { uid: u32, gid: u32 },
}

impl IdPlan {
    /// How many ids, from 0, are mapped (the same for uids and gids by construction).
    pub fn mapped_uids(&self) -> u64 {
        match self {
            IdPlan::Ranges { uid_map, .. } => uid_map.count(),
            IdPlan::Single { .. } => 1,
        }
    }

    pub fn mapped_gids(&self) -> u64 {
        match self {
            IdPlan::Ranges { gid_map, .. } => gid_map.count(),
            IdPlan::Single { .. } => 1,
        }
    }
}

/// A plan and what to tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub plan: IdPlan,
    /// Each a full sentence; the single-id fallback is exactly one warning with its fix.
    pub warnings: Vec<String>,
}

/// Ranges when the helpers and ranges for both uids and gids are there; otherwise one id, and
/// one warning that says what will not work and how to fix it.
pub fn decide(host: &HostIds) -> Decision {
    let user = host.user.as_deref();
    let uids = usable("/etc/subuid", user, host.uid, host.uid, &host.subuid);
    let gids = usable("/etc/subgid", user, host.uid, host.gid, &host.subgid);
    let mut missing: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    if host.newuidmap.is_none() || host.newgidmap.is_none() {
        missing.push("newuidmap/newgidmap are not installed".into());
        fixes.push("`sudo apt install uidmap` (shadow-utils on Fedora)".into());
    }
    missing.extend(uids.missing.iter().chain(&gids.missing).cloned());
    if uids.missing.is_some() || gids.missing.is_some() {
        let all: Vec<Range> = parse(&host.subuid)
            .into_iter()
            .chain(parse(&host.subgid))
            .collect();
        let free = free_start(&all);
        fixes.push(format!(
            "`sudo usermod --add-subuids {free}-{last} --add-subgids {free}-{last} {who}`",
            last = free + WANTED - 1,
            who = user.map_or_else(|| host.uid.to_string(), str::to_owned)
        ));
    }
    match (&host.newuidmap, &host.newgidmap) {
        (Some(newuidmap), Some(newgidmap)) if missing.is_empty() => Decision {
            plan: IdPlan::Ranges {
                uid_map: IdMap::root_and_ranges(host.uid, &uids.ranges),
                gid_map: IdMap::root_and_ranges(host.gid, &gids.ranges),
                newuidmap: newuidmap.clone(),
                newgidmap: newgidmap.clone(),
            },
            warnings: uids.warnings.into_iter().chain(gids.warnings).collect(),
        },
        _ => Decision {
            plan: IdPlan::Single {
                uid: host.uid,
                gid: host.gid,
            },
            warnings: vec![format!(
                "{}: only your own id can be mapped, so every file belongs to you (root \
                 inside): owners in an imported image collapse to root, and useradd, chown and \
                 package managers that change owners fail; fix: {}",
                missing.join("; "),
                fixes.join(", then ")
            )],
        },
    }
}

impl IdMap {
    /// `0 → own` and then each range, packed from inside id 1 upwards.
    pub fn root_and_ranges(own: u32, ranges: &[Range]) -> IdMap {
        let mut entries = vec![IdMapEntry {
            inside: 0,
            outside: own,
            count: 1,
        }];
        let mut next: u64 = 1;
        for range in ranges {
            // `usable` keeps only ranges below 2^32; the inside side stays below it too.
            let (Ok(inside), Ok(outside), Ok(count)) = (
                u32::try_from(next),
                u32::try_from(range.start),
                u32::try_from(range.count),
            ) else {
                break;
            };
            if next + range.count > u64::from(u32::MAX) {
                break;
            }
            entries.push(IdMapEntry {
                inside,
                outside,
                count,
            });
            next += range.count;
        }
        IdMap { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_uids_and_skips_junk() {
        let ranges =
            parse("# comment\nalice:100000:65536\n\n1001:165536:65536\nbad\nx:1:y\nz:5:0\n");
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

    #[test]
    fn ranges_for_matches_by_name_and_by_uid() {
        let text = "alice:100000:65536\nbob:165536:65536\n1000:300000:10\n";
        let mine = ranges_for(Some("alice"), 1000, text);
        assert_eq!(mine.len(), 2);
        assert_eq!((mine[0].start, mine[1].start), (100000, 300000));
        assert_eq!(ranges_for(None, 1000, text).len(), 1);
        assert!(ranges_for(Some("carol"), 1002, text).is_empty());
    }

    fn host(subuid: &str, subgid: &str, tools: bool) -> HostIds {
        HostIds {
            user: Some("alice".into()),
            uid: 1000,
            gid: 1000,
            subuid: subuid.into(),
            subgid: subgid.into(),
            newuidmap: tools.then(|| "/usr/bin/newuidmap".into()),
            newgidmap: tools.then(|| "/usr/bin/newgidmap".into()),
        }
    }

    #[test]
    fn maps_root_to_the_user_and_the_rest_to_the_range() {
        let d = decide(&host("alice:100000:65536\n", "alice:200000:65536\n", true));
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let IdPlan::Ranges {
            uid_map, gid_map, ..
        } = &d.plan
        else {
            panic!("{d:?}")
        };
        assert_eq!(
            uid_map.render_for_newuidmap(42),
            ["42", "0", "1000", "1", "1", "100000", "65536"]
        );
        assert_eq!(
            gid_map.render_for_newuidmap(42),
            ["42", "0", "1000", "1", "1", "200000", "65536"]
        );
        assert_eq!(d.plan.mapped_uids(), 65537);
    }

    #[test]
    fn several_ranges_are_packed_one_after_the_other() {
        let map = IdMap::root_and_ranges(
            7,
            &parse("a:100000:10\na:500000:20\n")
                .into_iter()
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            map.render_for_newuidmap(1),
            ["1", "0", "7", "1", "1", "100000", "10", "11", "500000", "20"]
        );
        assert_eq!(map.count(), 31);
    }

    #[test]
    fn falls_back_to_one_id_with_one_warning_naming_the_fix() {
        let no_tools = decide(&host("alice:100000:65536\n", "alice:100000:65536\n", false));
        assert_eq!(
            no_tools.plan,
            IdPlan::Single {
                uid: 1000,
                gid: 1000
            }
        );
        assert_eq!(no_tools.warnings.len(), 1);
        assert!(no_tools.warnings[0].contains("apt install uidmap"));
        assert!(!no_tools.warnings[0].contains("usermod"));

        let no_range = decide(&host("bob:100000:65536\n", "", true));
        assert!(matches!(no_range.plan, IdPlan::Single { .. }));
        assert_eq!(no_range.warnings.len(), 1, "{:?}", no_range.warnings);
        let w = &no_range.warnings[0];
        assert!(
            w.contains("no usable range for alice (uid 1000) in /etc/subuid"),
            "{w}"
        );
        assert!(w.contains("in /etc/subgid"), "{w}");
        assert!(
            w.contains("usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice"),
            "{w}"
        );
    }

    #[test]
    fn small_and_overlapping_ranges_are_reported() {
        let d = decide(&host(
            "alice:100000:1000\nbob:100500:65536\n",
            "alice:100000:65536\n",
            true,
        ));
        assert!(matches!(d.plan, IdPlan::Ranges { .. }));
        let all = d.warnings.join("\n");
        assert!(all.contains("overlaps bob's 100500-166035"), "{all}");
        assert!(all.contains("alice has 1000 subordinate ids"), "{all}");
        assert_eq!(d.plan.mapped_uids(), 1001);
    }

    #[test]
    fn ranges_the_kernel_would_reject_are_dropped() {
        let u = usable(
            "/etc/subuid",
            Some("alice"),
            1000,
            1000,
            "alice:500:1000\nalice:100000:65536\nalice:100010:5\nalice:4294967290:10\n",
        );
        assert_eq!(u.ranges.len(), 1);
        assert_eq!(u.ranges[0].start, 100000);
        let all = u.warnings.join("\n");
        assert!(all.contains("contains your own id 1000"), "{all}");
        assert!(all.contains("overlaps your range 100000-165535"), "{all}");
        assert!(all.contains("32-bit"), "{all}");
    }
}
