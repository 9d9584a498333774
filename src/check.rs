//! `hutch check`: the doctor. Each check looks at one host setting that decides whether, or how
//! well, hutch works here, and reports what it found and, when something is wrong, the fix in one
//! line.
//!
//! Checks are pure functions over what they read: paths such as `/proc/sys`, `/proc/self` and
//! `/etc` come in through [`HostPaths`], the user and their environment through [`User`], and the
//! two answers only a system call can give (the namespace probe and the Landlock ABI) through
//! [`Probes`], so unit tests simulate hosts with temp dirs. Only [`Probes::run`] needs the real
//! kernel: it walks the path `hutch run` takes in a throw-away child process (see [`probe`]),
//! because under Ubuntu's AppArmor restriction creating a user namespace succeeds and only the
//! next step fails.
//!
//! # Statuses and exit status
//! `ok`; `warn`: hutch runs, but a feature is missing or weaker than it could be; `fail`: `hutch
//! run` cannot work on this host. `hutch check` exits 0 when no check fails and 1 otherwise.
//!
//! # JSON (`hutch check --json`), schema 1
//! ```json
//! {
//!   "schema": 1,
//!   "ok": true,
//!   "checks": [
//!     {"id": "userns.probe", "status": "ok", "found": "...", "fix": null}
//!   ]
//! }
//! ```
//! - `schema`: the number 1. It changes only when the format changes incompatibly: a field
//!   removed, renamed or retyped, or a check id removed or renamed.
//! - `ok`: true when no check has status `fail`; then the exit status is 0.
//! - `checks`: every id in [`IDS`] exactly once, in that order. Later versions may add ids within
//!   schema 1: look checks up by id and ignore the ones you do not know.
//! - `id`: a stable name, `area.subject`. `status`: `"ok"`, `"warn"` or `"fail"`. `found`: one
//!   line saying what was found. `fix`: one line saying what to do, or `null` (always `null` for
//!   `"ok"`). `source` (only `idmap.subuid` and `idmap.subgid`): `"files"` or `"getsubids"`,
//!   where the ranges were read.

pub mod cgroup;
pub mod helpers;
pub mod kernel;
pub mod probe;
pub mod state;
pub mod subid;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::sys::Errno;

/// The version of the JSON format; see the module documentation.
pub const SCHEMA: u32 = 1;

/// Every check's id, in the order of the report.
pub const IDS: &[&str] = &[
    "kernel.version",
    "userns.max_user_namespaces",
    "userns.unprivileged_userns_clone",
    "userns.apparmor_restriction",
    "userns.probe",
    "overlay.userns",
    "idmap.subuid",
    "idmap.subgid",
    "idmap.newuidmap",
    "idmap.newgidmap",
    "landlock.abi",
    "seccomp.filter",
    "net.helper",
    "cgroup.v2",
    "cgroup.delegation",
    "state.data",
    "state.runtime",
];

/// The exit status of `hutch check` when some check failed.
pub const FAILED: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's result: one line of what was found, one line of the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub found: String,
    pub fix: Option<String>,
    /// Where the check read what it found, when there is a choice (`idmap.subuid`: `files` or
    /// `getsubids`). Absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

impl Check {
    pub fn ok(id: &'static str, found: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Ok,
            found: found.into(),
            fix: None,
            source: None,
        }
    }

    pub fn warn(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(id, Status::Warn, found, Some(fix.into()))
    }

    pub fn fail(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(id, Status::Fail, found, Some(fix.into()))
    }

    /// A check with or without a fix; `ok` never carries one.
    pub fn new(
        id: &'static str,
        status: Status,
        found: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            id,
            status,
            found: found.into(),
            fix: fix.filter(|_| status != Status::Ok),
            source: None,
        }
    }
}

/// The whole report, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: u32,
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(checks: Vec<Check>) -> Report {
        Report {
            schema: SCHEMA,
            ok: checks.iter().all(|c| c.status != Status::Fail),
            checks,
        }
    }

    pub fn exit_status(&self) -> u8 {
        if self.ok {
            0
        } else {
            FAILED
        }
    }

    pub fn to_json(&self) -> Result<String, CheckError> {
        let mut json = serde_json::to_string_pretty(self).map_err(CheckError::Json)?;
        json.push('\n');
        Ok(json)
    }

    /// One line per check (`status  id  found; fix: ...`), then a one-line verdict. With `quiet`
    /// only the failed checks, and no verdict.
    pub fn to_text(&self, quiet: bool) -> String {
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let mut out = String::new();
        for check in &self.checks {
            if quiet && check.status != Status::Fail {
                continue;
            }
            let _ = write!(
                out,
                "{:<4}  {:<width$}  {}",
                check.status.word(),
                check.id,
                check.found
            );
            if let Some(fix) = &check.fix {
                let _ = write!(out, "; fix: {fix}");
            }
            out.push('\n');
        }
        if !quiet {
            let count = |status| self.checks.iter().filter(|c| c.status == status).count();
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            let _ = if self.ok {
                writeln!(
                    out,
                    "hutch run can work here ({})",
                    plural(count(Status::Warn), "warning")
                )
            } else {
                writeln!(
                    out,
                    "hutch run cannot work here ({}, {})",
                    plural(count(Status::Fail), "failure"),
                    plural(count(Status::Warn), "warning")
                )
            };
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot render the report as JSON")]
    Json(#[source] serde_json::Error),
}

/// Where the checks read the host's state; the real paths outside tests.
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// `/proc/sys`: the user-namespace switches, the kernel release, seccomp's actions.
    pub proc_sys: PathBuf,
    /// `/proc/self`: `status` (seccomp, no_new_privs), `cgroup`, `mountinfo`.
    pub proc_self: PathBuf,
    /// `/etc`: `subuid`, `subgid` and `nsswitch.conf`.
    pub etc: PathBuf,
}

impl HostPaths {
    pub fn real() -> HostPaths {
        HostPaths {
            proc_sys: "/proc/sys".into(),
            proc_self: "/proc/self".into(),
            etc: "/etc".into(),
        }
    }
}

/// Who asks, with the parts of their environment the checks look at.
#[derive(Debug, Clone)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// The passwd name (subordinate id files name users by name or by uid).
    pub name: Option<String>,
    pub home: Option<PathBuf>,
    /// `$PATH`, where hutch looks for newuidmap, newgidmap, pasta and slirp4netns.
    pub path: OsString,
    pub xdg_data_home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
}

/// The search path used when `$PATH` is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl User {
    pub fn current() -> User {
        // Never NSS: see crate::account.
        let account = crate::account::Account::current();
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
        User {
            uid: account.uid,
            gid: account.gid,
            name: account.subid_owner_name(Path::new(crate::account::PASSWD)),
            home: account.home,
            path: var("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
            xdg_data_home: absolute("XDG_DATA_HOME"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
        }
    }

    /// The user's name for messages and commands, or their uid when they have none.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

/// The answers that need the real kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    pub namespaces: probe::Outcome,
    /// `landlock_create_ruleset(.., LANDLOCK_CREATE_RULESET_VERSION)`.
    pub landlock: Result<i32, Errno>,
}

impl Probes {
    /// Probe this host. Forks a child, so call it only from a single-threaded process.
    pub fn run() -> Probes {
        Probes {
            namespaces: probe::run(),
            landlock: crate::sys::landlock_abi_version(),
        }
    }
}

/// Every check, in the order of [`IDS`].
pub fn checks(paths: &HostPaths, user: &User, probes: &Probes) -> Report {
    let userns_works = probes.namespaces.userns == probe::Stage::Passed;
    let status = std::fs::read_to_string(paths.proc_self.join("status")).unwrap_or_default();
    let no_new_privs = status_field(&status, "NoNewPrivs") == Some("1");
    let subid_source =
        crate::subid::SubidSource::of_host(&paths.etc.join("nsswitch.conf"), &user.path);
    let checks = vec![
        kernel::version(&paths.proc_sys),
        kernel::max_user_namespaces(&paths.proc_sys, userns_works),
        kernel::unprivileged_userns_clone(&paths.proc_sys, userns_works),
        kernel::apparmor_restriction(&paths.proc_sys, userns_works),
        probe::userns(&probes.namespaces.userns, &paths.proc_sys, user.uid),
        probe::overlay(&probes.namespaces.overlay),
        subid::check("idmap.subuid", &subid_source, &paths.etc, false, user),
        subid::check("idmap.subgid", &subid_source, &paths.etc, true, user),
        helpers::id_mapper(
            "idmap.newuidmap",
            helpers::find_in_path("newuidmap", &user.path),
            helpers::CAP_SETUID,
            no_new_privs,
        ),
        helpers::id_mapper(
            "idmap.newgidmap",
            helpers::find_in_path("newgidmap", &user.path),
            helpers::CAP_SETGID,
            no_new_privs,
        ),
        kernel::landlock(probes.landlock),
        kernel::seccomp(&status, &paths.proc_sys),
        helpers::net(
            helpers::find_in_path("pasta", &user.path),
            helpers::find_in_path("slirp4netns", &user.path),
        ),
        cgroup::v2(&paths.proc_self),
        cgroup::delegation(&paths.proc_self, user.uid),
        state::data(user),
        state::runtime(user),
    ];
    Report::new(checks)
}

/// `hutch check`: probe this host; the report to print, and the exit status.
pub fn run(json: bool, quiet: bool) -> Result<(String, u8), CheckError> {
    let probes = Probes::run();
    let report = checks(&HostPaths::real(), &User::current(), &probes);
    let text = if json {
        report.to_json()?
    } else {
        report.to_text(quiet)
    };
    Ok((text, report.exit_status()))
}

/// The value of `Name:` in a `/proc/PID/status` text.
pub(crate) fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim())
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! A simulated host in a temp dir: `proc/sys`, `proc/self`, `etc`, and a home.

    use super::*;
    use std::path::Path;

    pub struct FakeHost {
        pub dir: tempfile::TempDir,
        pub paths: HostPaths,
    }

    impl FakeHost {
        pub fn new() -> FakeHost {
            let dir = tempfile::tempdir().unwrap();
            let paths = HostPaths {
                proc_sys: dir.path().join("proc/sys"),
                proc_self: dir.path().join("proc/self"),
                etc: dir.path().join("etc"),
            };
            for p in [&paths.proc_sys, &paths.proc_self, &paths.etc] {
                std::fs::create_dir_all(p).unwrap();
            }
            FakeHost { dir, paths }
        }

        pub fn path(&self) -> &Path {
            self.dir.path()
        }

        /// Write `contents` at `relative` (under the fake host's root), creating parents.
        pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
            let path = self.dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            path
        }

        pub fn user(&self) -> User {
            User {
                uid: 1000,
                gid: 1000,
                name: Some("alice".into()),
                home: Some(self.path().join("home/alice")),
                path: self.path().join("bin").into_os_string(),
                xdg_data_home: None,
                xdg_runtime_dir: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeHost;
    use super::*;

    fn working_probes() -> Probes {
        Probes {
            namespaces: probe::Outcome {
                userns: probe::Stage::Passed,
                overlay: probe::Stage::Passed,
            },
            landlock: Ok(6),
        }
    }

    #[test]
    fn the_report_has_every_id_once_in_order() {
        let host = FakeHost::new();
        let report = checks(&host.paths, &host.user(), &working_probes());
        let ids: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, IDS);
    }

    #[test]
    fn warnings_do_not_fail_a_failure_does() {
        let report = Report::new(vec![
            Check::ok("a", "fine"),
            Check::warn("b", "meh", "do this"),
        ]);
        assert!(report.ok);
        assert_eq!(report.exit_status(), 0);
        let report = Report::new(vec![
            Check::ok("a", "fine"),
            Check::fail("c", "broken", "do that"),
        ]);
        assert!(!report.ok);
        assert_eq!(report.exit_status(), FAILED);
    }

    #[test]
    fn ok_never_carries_a_fix() {
        let check = Check::new("a", Status::Ok, "fine", Some("nothing".into()));
        assert_eq!(check.fix, None);
    }

    #[test]
    fn json_follows_schema_1() {
        let report = Report::new(vec![
            Check::ok("userns.probe", "works"),
            Check::warn("net.helper", "no pasta", "apt install passt"),
        ]);
        let value: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "schema": 1,
                "ok": true,
                "checks": [
                    {"id": "userns.probe", "status": "ok", "found": "works", "fix": null},
                    {"id": "net.helper", "status": "warn", "found": "no pasta",
                     "fix": "apt install passt"},
                ]
            })
        );
    }

    #[test]
    fn text_has_one_line_per_check_and_a_verdict() {
        let report = Report::new(vec![
            Check::ok("kernel.version", "Linux 6.8"),
            Check::fail("userns.probe", "clone failed", "sysctl"),
        ]);
        let text = report.to_text(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("ok    kernel.version  Linux 6.8"),
            "{text}"
        );
        assert_eq!(lines[1], "fail  userns.probe    clone failed; fix: sysctl");
        assert_eq!(
            lines[2],
            "hutch run cannot work here (1 failure, 0 warnings)"
        );
        assert_eq!(
            report.to_text(true),
            "fail  userns.probe    clone failed; fix: sysctl\n"
        );
    }

    #[test]
    fn reads_proc_status_fields() {
        let status = "Name:\thutch\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        assert_eq!(status_field(status, "NoNewPrivs"), Some("1"));
        assert_eq!(status_field(status, "Seccomp"), Some("2"));
        assert_eq!(status_field(status, "Seccomp_filters"), Some("3"));
        assert_eq!(status_field(status, "Missing"), None);
    }
}
