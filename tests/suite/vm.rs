//! What this host cannot show, in the qemu guest of `tests/vm/run`: Debian's kernel, systemd as
//! PID 1 on cgroup v2, and an unprivileged user whose systemd user manager delegates cgroups.
//!
//! A boot costs ~20 s under TCG, so each test runs one script that checks many things, and the
//! boots take turns. `guest_sh` is for any test that needs the guest.

use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

use super::harness::{stderr, stdout};

/// The guest's unprivileged user, as tests/vm/run creates it.
pub const GUEST_UID: u32 = 1000;

/// Runs `script` with `sh -c` in a fresh guest, as the guest's unprivileged user in a login
/// session, in this checkout, with this build's hutch first on PATH. None when tests/vm/run
/// skips (it has printed `skipping:`; under HUTCH_TEST_STRICT=1 it fails instead, and so does
/// this).
pub fn guest_sh(script: &str) -> Option<Output> {
    guest_sh_with(script, "")
}

/// [`guest_sh`] in a guest with more Debian `packages` (space-separated; HUTCH_VM_PACKAGES of
/// tests/vm/run: a guest image of their own, built once).
pub fn guest_sh_with(script: &str, packages: &str) -> Option<Output> {
    // Two guests at once would only slow each other down on a small machine.
    static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_GUEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vm/run"))
        .env("HUTCH_VM_HUTCH", env!("CARGO_BIN_EXE_hutch"))
        .env("HUTCH_VM_PACKAGES", packages)
        .args(["--", "sh", "-c", script])
        .output()
        .expect("spawn tests/vm/run");
    match out.status.code() {
        Some(77) => {
            eprint!("{}", stderr(&out));
            None
        }
        Some(69) => panic!(
            "tests/vm/run failed:\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        ),
        _ => Some(out),
    }
}

/// The text between `--- NAME` and the next `--- ` line of `text`.
pub fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("--- {name}\n"))
        .unwrap_or_else(|| panic!("no section {name} in:\n{text}"));
    let body = &text[start + name.len() + 5..];
    if body.starts_with("--- ") {
        return "";
    }
    body.find("\n--- ").map_or(body, |end| &body[..end]).trim()
}

fn check_status<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str) {
    let check = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report}"));
    (
        check["status"].as_str().unwrap_or_default(),
        check["found"].as_str().unwrap_or_default(),
    )
}

/// One boot: the guest is what the limits tests need, the command runs as promised (user,
/// session, directory, hutch on PATH), and its exit status comes back.
#[test]
fn guest_delegates_cgroup_v2_controllers_to_the_user() {
    let script = r#"
        echo "--- id"; id -u
        echo "--- pwd"; pwd
        echo "--- runtime dir"; echo "$XDG_RUNTIME_DIR"
        echo "--- cgroup fs"; stat -f -c %T /sys/fs/cgroup
        echo "--- own cgroup"; cat /proc/self/cgroup
        echo "--- user manager"; systemctl is-active "user@$(id -u).service"
        echo "--- delegated"
        cat "/sys/fs/cgroup/user.slice/user-$(id -u).slice/user@$(id -u).service/cgroup.controllers"
        echo "--- subuid"; grep "^$(id -un):" /etc/subuid
        echo "--- hutch"; command -v hutch
        echo "--- sandbox"; hutch run -- sh -c 'echo inside' 2>&1
        echo "--- check"
        systemd-run --user --scope --quiet -p Delegate=yes -- hutch check --json
        echo "--- stderr"; echo "to stderr" >&2
        exit 3
    "#;
    let Some(out) = guest_sh(script) else {
        return;
    };
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    // (Before it, tests/vm/run may say that it builds the guest.)
    assert_eq!(stderr(&out).lines().last(), Some("to stderr"), "{text}");

    assert_eq!(section(&text, "id"), GUEST_UID.to_string());
    assert_eq!(
        section(&text, "pwd"),
        std::env::current_dir().unwrap().to_str().unwrap(),
        "the command runs in the checkout, at the host's path"
    );
    assert_eq!(
        section(&text, "runtime dir"),
        format!("/run/user/{GUEST_UID}")
    );
    assert_eq!(section(&text, "cgroup fs"), "cgroup2fs");
    let own = section(&text, "own cgroup");
    assert!(
        own.starts_with(&format!("0::/user.slice/user-{GUEST_UID}.slice/session-"))
            && own.ends_with(".scope"),
        "the command runs in a login session: {own}"
    );
    assert_eq!(section(&text, "user manager"), "active");
    let delegated: Vec<&str> = section(&text, "delegated").split_whitespace().collect();
    for controller in ["cpu", "cpuset", "io", "memory", "pids"] {
        assert!(
            delegated.contains(&controller),
            "the user manager's cgroup lacks {controller}: {delegated:?}"
        );
    }
    assert!(
        section(&text, "subuid").starts_with("hutch-test:"),
        "{text}"
    );
    assert_eq!(section(&text, "hutch"), "/usr/local/bin/hutch");
    assert_eq!(section(&text, "sandbox"), "inside");

    let check = section(&text, "check");
    let report: Value = serde_json::from_str(check)
        .unwrap_or_else(|e| panic!("hutch check --json is not JSON ({e}):\n{check}"));
    let (status, found) = check_status(&report, "cgroup.v2");
    assert_eq!(status, "ok", "{found}");
    assert!(found.contains("(unified)"), "{found}");
    let (status, found) = check_status(&report, "cgroup.delegation");
    assert_eq!(
        status, "ok",
        "a scope with Delegate=yes is the user's: {found}"
    );
}
