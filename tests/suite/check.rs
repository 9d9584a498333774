//! `hutch check`, run by the test user on this host. The harness only hands out a launcher when
//! `hutch run -- true` works here, so the doctor must agree: no check may fail.

use serde_json::Value;

use super::harness::{self, stdout, WorkDir};

/// The ids of schema 1, in order. Removing or renaming one breaks `--json` consumers: that needs
/// a new schema number, not an edit here.
const IDS: &[&str] = &[
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

fn check(args: &[&str]) -> Option<std::process::Output> {
    let launcher = harness::launcher()?;
    let dir = WorkDir::new(launcher);
    let out = launcher
        .command(dir.path())
        .arg("check")
        .args(args)
        .output()
        .expect("spawn hutch");
    Some(out)
}

#[test]
fn json_report_covers_every_check_and_passes_here() {
    let Some(out) = check(&["--json"]) else {
        return;
    };
    let text = stdout(&out);
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("check --json is not JSON ({e}):\n{text}"));
    assert_eq!(report["schema"], 1, "{text}");
    let checks = report["checks"].as_array().expect("checks is an array");
    let ids: Vec<&str> = checks.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, IDS, "{text}");
    assert_eq!(hutch::check::IDS, IDS);
    for check in checks {
        let status = check["status"].as_str().unwrap_or_default();
        assert!(["ok", "warn", "fail"].contains(&status), "{check}");
        assert!(
            check["found"]
                .as_str()
                .is_some_and(|f| !f.is_empty() && !f.contains('\n')),
            "{check}"
        );
        match &check["fix"] {
            Value::Null => {}
            Value::String(fix) => {
                assert_ne!(status, "ok", "an ok check carries no fix: {check}");
                assert!(!fix.is_empty() && !fix.contains('\n'), "{check}");
            }
            other => panic!("fix is {other}: {check}"),
        }
    }
    let failed: Vec<&Value> = checks.iter().filter(|c| c["status"] == "fail").collect();
    assert!(
        failed.is_empty(),
        "`hutch run` works here, yet checks failed: {failed:?}"
    );
    assert_eq!(report["ok"], true, "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The probe runs as the test user, not as root: it must pass outright.
    let probe = &checks[IDS.iter().position(|&id| id == "userns.probe").unwrap()];
    assert_eq!(probe["status"], "ok", "{probe}");
}

#[test]
fn text_report_has_one_line_per_check_then_a_verdict() {
    let Some(out) = check(&[]) else {
        return;
    };
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), IDS.len() + 1, "{text}");
    for (line, id) in lines.iter().zip(IDS) {
        let mut words = line.split_whitespace();
        let status = words.next().unwrap_or_default();
        assert!(["ok", "warn", "fail"].contains(&status), "{line}");
        assert_eq!(words.next(), Some(*id), "{text}");
        if status != "ok" {
            assert!(line.contains("; fix: "), "{line}");
        }
    }
    let verdict = lines.last().unwrap();
    assert!(verdict.starts_with("hutch run can work here"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn quiet_prints_only_failures() {
    let Some(out) = check(&["-q"]) else {
        return;
    };
    assert_eq!(stdout(&out), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_bad_flag_is_hutchs_own_failure() {
    let Some(out) = check(&["--bogus"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(125));
}
