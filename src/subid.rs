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
//! Where the ranges come from is libsubid's choice, which newuidmap follows: the first `subid:`
//! line of nsswitch.conf(5) names one service (`sss` on SSSD and FreeIPA hosts); without one,
//! or with `subid: files`, the two files. hutch reads the files itself, and asks a service
//! through `getsubids(1)` (same package as newuidmap), a dynamic program that may load its
//! module where hutch, static, may not. See [`SubidSource`].
//!
//! Everything else here is pure: [`decide`] turns the files' text and the helpers' locations into a
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

/// nsswitch.conf(5): where libsubid, and so newuidmap, looks up subordinate ids.
pub const NSSWITCH: &str = "/etc/nsswitch.conf";

/// Where a host's subordinate ids come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubidSource {
    /// `/etc/subuid` and `/etc/subgid`.
    Files,
    /// An NSS service named by `subid:` in nsswitch.conf, asked through `getsubids` when it is
    /// installed (`None`: it is not, and hutch cannot see the ranges).
    Service {
        name: String,
        getsubids: Option<PathBuf>,
    },
}

impl SubidSource {
    /// The source nsswitch.conf's `text` names, with `getsubids` where it was found.
    pub fn from_nsswitch(text: &str, getsubids: Option<PathBuf>) -> SubidSource {
        match nsswitch_subid_service(text) {
            Some(name) => SubidSource::Service { name, getsubids },
            None => SubidSource::Files,
        }
    }

    /// This host's source: `nsswitch` read, `getsubids` looked for in `path`.
    pub fn of_host(nsswitch: &std::path::Path, path: &std::ffi::OsStr) -> SubidSource {
        // Small and root's; a missing file means files, as in libsubid.
        let text = std::fs::read_to_string(nsswitch).unwrap_or_default();
        let source = SubidSource::from_nsswitch(&text, None);
        match source {
            SubidSource::Service { name, .. } => SubidSource::Service {
                name,
                getsubids: crate::check::helpers::find_in_path("getsubids", path),
            },
            files => files,
        }
    }

    /// For messages: where the uid (`gids` false) or gid ranges were read.
    pub fn label(&self, gids: bool) -> String {
        match (self, gids) {
            (SubidSource::Files, false) => "/etc/subuid".into(),
            (SubidSource::Files, true) => "/etc/subgid".into(),
            (SubidSource::Service { name, .. }, false) => {
                format!("getsubids (subid: {name} in {NSSWITCH})")
            }
            (SubidSource::Service { name, .. }, true) => {
                format!("getsubids -g (subid: {name} in {NSSWITCH})")
            }
        }
    }

    /// For `hutch check --json`: `files` or `getsubids`.
    pub fn kind(&self) -> &'static str {
        match self {
            SubidSource::Files => "files",
            SubidSource::Service { .. } => "getsubids",
        }
    }

    /// The uid (`gids` false) or gid ranges of `owner` (a name or a uid), as subuid(5) text:
    /// the file itself, or what getsubids answers, one `OWNER:START:COUNT` line per range.
    /// Unreadable or unanswered is empty: getsubids exits 1 both for "no ranges" and for
    /// errors.
    pub fn read(&self, etc: &std::path::Path, gids: bool, owner: &str) -> String {
        match self {
            SubidSource::Files => {
                let file = if gids { "subgid" } else { "subuid" };
                std::fs::read_to_string(etc.join(file)).unwrap_or_default()
            }
            SubidSource::Service {
                getsubids: None, ..
            } => String::new(),
            SubidSource::Service {
                getsubids: Some(program),
                ..
            } => {
                let mut command = std::process::Command::new(program);
                if gids {
                    command.arg("-g");
                }
                command.arg(owner);
                match crate::program::output_within(command, GETSUBIDS_TIMEOUT) {
                    Some((status, stdout)) if status.success() => {
                        parse_getsubids(&String::from_utf8_lossy(&stdout))
                            .iter()
                            .map(|r| format!("{}:{}:{}\n", r.owner, r.start, r.count))
                            .collect()
                    }
                    _ => String::new(),
                }
            }
        }
    }
}

/// How long `getsubids` may take: a directory service that does not answer must not hang every
/// start. Past it, the service counts as having no ranges for the user, as on failure.
const GETSUBIDS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The service named by the first `subid:` line of nsswitch.conf `text`, unless it is `files`
/// (libsubid's `nss_init`: one service only, the first word; the key is case-insensitive).
pub fn nsswitch_subid_service(text: &str) -> Option<String> {
    let value = text.lines().find_map(|line| {
        if line.starts_with('#') {
            return None;
        }
        let key = line.get(..6)?;
        if !key.eq_ignore_ascii_case("subid:") {
            return None;
        }
        line[6..].split_whitespace().next()
    })?;
    (value != "files").then(|| value.to_owned())
}

/// getsubids(1) output: `INDEX: OWNER START COUNT` per range. Malformed lines and empty ranges
/// are skipped.
pub fn parse_getsubids(text: &str) -> Vec<Range> {
    text.lines()
        .filter_map(|line| {
            let (index, rest) = line.split_once(':')?;
            index.trim().parse::<u64>().ok()?;
            let mut fields = rest.split_whitespace();
            let owner = fields.next()?.to_owned();
            let start = fields.next()?.parse().ok()?;
            let count = fields.next()?.parse().ok()?;
            (fields.next().is_none() && count > 0).then_some(Range {
                owner,
                start,
                count,
            })
        })
        .collect()
}

/// Everything [`decide`] looks at, gathered by the caller (see [`HostIds::current`]).
#[derive(Debug, Clone)]
pub struct HostIds {
    pub user: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Where `subuid` and `subgid` came from.
    pub source: SubidSource,
    /// The ranges in subuid(5) form: a file's whole text, or the user's lines from a service.
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
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let source = SubidSource::of_host(std::path::Path::new(NSSWITCH), &path);
        let owner = user.clone().unwrap_or_else(|| uid.to_string());
        let etc = std::path::Path::new("/etc");
        HostIds {
            subuid: source.read(etc, false, &owner),
            subgid: source.read(etc, true, &owner),
            source,
            user,
            uid,
            gid,
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
    let (uid_label, gid_label) = (host.source.label(false), host.source.label(true));
    let uids = usable(&uid_label, user, host.uid, host.uid, &host.subuid);
    let gids = usable(&gid_label, user, host.uid, host.gid, &host.subgid);
    let mut missing: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    if host.newuidmap.is_none() || host.newgidmap.is_none() {
        missing.push("newuidmap/newgidmap are not installed".into());
        fixes.push("`sudo apt install uidmap` (shadow-utils on Fedora)".into());
    }
    let who = user.map_or_else(|| host.uid.to_string(), str::to_owned);
    match &host.source {
        SubidSource::Service {
            name,
            getsubids: None,
        } => {
            missing.push(format!(
                "{NSSWITCH} takes subordinate ids from `{name}`, which hutch asks through \
                 getsubids, and getsubids is not installed"
            ));
            fixes.push(
                "install getsubids (`sudo apt install uidmap`, shadow-utils-subid on Fedora)"
                    .into(),
            );
        }
        SubidSource::Service { name, .. } => {
            missing.extend(uids.missing.iter().chain(&gids.missing).cloned());
            if uids.missing.is_some() || gids.missing.is_some() {
                fixes.push(format!(
                    "ask the administrators of `{name}` for a range of {WANTED} subordinate \
                     uids and gids for {who} (FreeIPA: `ipa subid-generate --owner {who}`)"
                ));
            }
        }
        SubidSource::Files => missing.extend(uids.missing.iter().chain(&gids.missing).cloned()),
    }
    if host.source == SubidSource::Files && (uids.missing.is_some() || gids.missing.is_some()) {
        let all: Vec<Range> = parse(&host.subuid)
            .into_iter()
            .chain(parse(&host.subgid))
            .collect();
        let free = free_start(&all);
        fixes.push(format!(
            "`sudo usermod --add-subuids {free}-{last} --add-subgids {free}-{last} {who}`",
            last = free + WANTED - 1,
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
pub(crate) mod tests {
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
            source: SubidSource::Files,
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
    fn nsswitch_names_the_source_as_libsubid_reads_it() {
        assert_eq!(nsswitch_subid_service("passwd: files systemd\n"), None);
        assert_eq!(nsswitch_subid_service("subid: files\n"), None);
        assert_eq!(nsswitch_subid_service("#subid: sss\nsubid:\n"), None);
        assert_eq!(
            nsswitch_subid_service("passwd: files\nSUBID:\tsss files\nsubid: ldap\n").as_deref(),
            Some("sss")
        );
    }

    #[test]
    fn parses_getsubids_output() {
        let ranges = parse_getsubids(
            "0: alice 100000 65536\n1: alice 300000 10\nError fetching ranges\n2: bob x 1\n\
             3: alice 5 0\n",
        );
        assert_eq!(
            ranges,
            [
                Range {
                    owner: "alice".into(),
                    start: 100000,
                    count: 65536
                },
                Range {
                    owner: "alice".into(),
                    start: 300000,
                    count: 10
                },
            ]
        );
        assert!(parse_getsubids("").is_empty());
    }

    /// Write an executable `script` at `path` from a child process: a file this (threaded)
    /// test process had open for writing could be inherited by another test's fork, and
    /// executing it would then fail with ETXTBSY.
    pub(crate) fn write_script(path: &std::path::Path, script: &str) {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    #[test]
    fn a_service_is_asked_through_getsubids() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("getsubids");
        // A stand-in with getsubids' output format: uids for `alice`, gids with -g.
        write_script(
            &program,
            "#!/bin/sh\nif [ \"$1\" = -g ]; then echo \"0: $2 200000 65536\"; \
             elif [ \"$1\" = alice ]; then echo \"0: $1 100000 65536\"; else exit 1; fi\n",
        );
        let source = SubidSource::Service {
            name: "sss".into(),
            getsubids: Some(program),
        };
        let etc = dir.path();
        assert_eq!(source.read(etc, false, "alice"), "alice:100000:65536\n");
        assert_eq!(source.read(etc, true, "alice"), "alice:200000:65536\n");
        assert_eq!(source.read(etc, false, "bob"), "");
        let mut host = host("", "", true);
        host.subuid = source.read(etc, false, "alice");
        host.subgid = source.read(etc, true, "alice");
        host.source = source;
        let d = decide(&host);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(d.plan.mapped_uids(), 65537);
    }

    #[test]
    fn a_service_without_getsubids_or_ranges_says_so() {
        let mut no_tool = host("", "", true);
        no_tool.source = SubidSource::Service {
            name: "sss".into(),
            getsubids: None,
        };
        let d = decide(&no_tool);
        assert!(matches!(d.plan, IdPlan::Single { .. }));
        assert!(d.warnings[0].contains("`sss`"), "{:?}", d.warnings);
        assert!(
            d.warnings[0].contains("install getsubids"),
            "{:?}",
            d.warnings
        );
        let mut no_range = no_tool.clone();
        no_range.source = SubidSource::Service {
            name: "sss".into(),
            getsubids: Some("/usr/bin/getsubids".into()),
        };
        let w = &decide(&no_range).warnings[0];
        assert!(
            w.contains("in getsubids (subid: sss in /etc/nsswitch.conf)"),
            "{w}"
        );
        assert!(w.contains("ipa subid-generate --owner alice"), "{w}");
        assert!(!w.contains("usermod"), "{w}");
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
