//! Signals, and what is left behind: nothing.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::harness::{
    assert_mounts_unchanged, eventually, host_mounts, ok, processes_running, processes_with,
    sandbox, unique_marker, Running,
};

#[test]
fn sigterm_to_hutch_reaches_the_payload() {
    let Some(sb) = sandbox() else { return };
    let mut child = Running(
        sb.hutch([
            "run",
            "--",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got TERM");
    assert_eq!(child.0.wait().unwrap().code(), Some(3));
}

#[test]
fn sigkill_of_hutch_leaves_no_sandbox_process() {
    let Some(sb) = sandbox() else { return };
    let marker = unique_marker();
    let mut child = Running(
        sb.hutch([
            "run",
            "--",
            "sh",
            "-c",
            &format!("sleep {marker} & echo ready; exec sleep {marker}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let sleeping = format!("sleep {marker}");
    assert!(
        eventually(5, || processes_running(&sleeping).len() == 2),
        "{:?}",
        processes_running(&sleeping)
    );
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGKILL).unwrap();
    child.0.wait().unwrap();
    assert!(
        eventually(5, || processes_with(&marker).is_empty()),
        "left behind: {:?}",
        processes_with(&marker)
    );
}

#[test]
fn background_processes_end_with_the_payload() {
    let Some(sb) = sandbox() else { return };
    let marker = unique_marker();
    ok(&sb.sh(&format!("sleep {marker} & sleep {marker} & echo started")));
    assert!(
        eventually(5, || processes_with(&marker).is_empty()),
        "left behind: {:?}",
        processes_with(&marker)
    );
}

#[test]
fn nothing_remains_after_success_or_failure() {
    let Some(sb) = sandbox() else { return };
    let mounts_before = host_mounts();
    let tmpdir = tempfile::Builder::new()
        .prefix("hutch-tmpdir-")
        .tempdir_in(sb.path())
        .unwrap();
    std::fs::set_permissions(
        tmpdir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let marker = unique_marker();
    for args in [
        vec!["--", "sh", "-c", "sleep 0 && true"],
        vec!["--", "sh", "-c", "exit 9"],
        vec!["--", "hutch-no-such-command"],
        vec!["--bind", "/hutch/none", "--", "true"],
        vec!["--tmpfs", "/usr/hutch-no-such-dir", "--", "true"],
    ] {
        let mut cmd = sb.hutch(["run"]);
        cmd.args(&args)
            .env("TMPDIR", tmpdir.path())
            .env("HUTCH_MARKER", &marker);
        cmd.output().unwrap();
    }
    assert_eq!(
        std::fs::read_dir(tmpdir.path()).unwrap().count(),
        0,
        "hutch left files in TMPDIR"
    );
    assert_mounts_unchanged(&mounts_before);
    // hutch answers as soon as the payload's status is known; PID 1's own exit (tearing the
    // namespaces down) may take a moment longer.
    let hutches = || -> Vec<u32> {
        processes_running(&sb.launcher.binary.display().to_string())
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/environ"))
                    .is_ok_and(|e| e.contains(&marker))
            })
            .collect()
    };
    assert!(
        eventually(5, || hutches().is_empty()),
        "hutch processes left: {:?}",
        hutches()
    );
}
