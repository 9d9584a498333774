//! The children hutch forks and clones (see `src/child.rs`): a panic in one ends that child
//! with status 125 and a message, and none of the parent's code runs in it. Debug builds of
//! hutch panic at the start of the child named by `HUTCH_DEBUG_PANIC_IN_CHILD`.

use std::process::Output;

use super::harness::{ok, processes_with, sandbox, stderr, stdout, unique_marker, Sandbox};

const PANIC_IN: &str = "HUTCH_DEBUG_PANIC_IN_CHILD";

fn panicking(sb: &Sandbox, child: &str, args: &[&str]) -> Output {
    let root = sb.path().join("state");
    let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    cmd.args(args).env(PANIC_IN, child);
    cmd.output().expect("spawn hutch")
}

fn assert_reported(out: &Output, child: &str) {
    let err = stderr(out);
    assert!(
        err.contains(&format!("hutch: internal error in {child}: panicked at")),
        "{err}"
    );
    assert!(!err.contains("unwind"), "{err}");
}

#[test]
fn a_panic_in_the_sandboxs_set_up_is_125() {
    let Some(sb) = sandbox() else { return };
    let marker = unique_marker();
    let out = panicking(
        &sb,
        "the sandbox's set-up",
        &["run", "--", "sh", "-c", &format!(": {marker}")],
    );
    // Unwound into the launcher's frames, the panic would abort (134) or run the launcher on.
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_reported(&out, "the sandbox's set-up");
    assert_eq!(stdout(&out), "");
    assert!(processes_with(&marker).is_empty());
}

#[test]
fn a_panic_in_the_check_probe_fails_that_check_alone() {
    let Some(sb) = sandbox() else { return };
    let out = panicking(&sb, "the namespace probe", &["check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_reported(&out, "the namespace probe");
    // One report: the probe did not go on as `hutch check` and print a second one.
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON report");
    let probe = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "userns.probe")
        .unwrap();
    assert_eq!(probe["status"], "fail");
    assert!(
        probe["found"].as_str().unwrap().contains("status 125"),
        "{probe}"
    );
}

#[test]
fn a_panic_in_an_environments_children_is_125() {
    let Some(sb) = sandbox() else { return };
    let hutch = |args: &[&str]| panicking(&sb, "none", args);
    ok(&hutch(&["create", "box", "--host"]));
    for child in ["starting the supervisor", "the supervisor"] {
        let out = panicking(&sb, child, &["start", "box"]);
        assert_eq!(out.status.code(), Some(125), "{child}: {out:?}");
        assert_reported(&out, child);
        assert!(
            stderr(&out).contains("exited without a word"),
            "{child}: {}",
            stderr(&out)
        );
        let status: serde_json::Value =
            serde_json::from_str(&ok(&hutch(&["status", "box", "--json"]))).unwrap();
        assert_eq!(status["status"], "stopped", "{child}");
    }
    ok(&hutch(&["start", "box"]));
    let out = panicking(
        &sb,
        "joining the environment",
        &["exec", "box", "--", "true"],
    );
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_reported(&out, "joining the environment");
    // The environment is unharmed.
    ok(&hutch(&["exec", "box", "--", "true"]));
    ok(&hutch(&["stop", "box"]));
}
