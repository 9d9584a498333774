//! hutch's own output when stdout fails: a full device is an error (125, `cannot write
//! output`), a reader that went away (`| head -1`) ends the command quietly with status 0.

use std::os::unix::fs::chown;
use std::process::Stdio;

use super::harness::{ok, sandbox, stderr, Sandbox};

/// The commands under test, each with output of its own: `--root` keeps state in the work dir.
fn commands(sb: &Sandbox) -> Vec<Vec<String>> {
    let root = sb.path().join("state").display().to_string();
    let with_root = |args: &[&str]| {
        let mut all = vec!["--root".to_owned(), root.clone()];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    };
    let plain = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        plain(&["profile", "ls"]),
        plain(&["profile", "ls", "--json"]),
        plain(&["profile", "show", "default"]),
        plain(&["run", "--explain", "--", "true"]),
        plain(&["run", "--explain", "--json", "--", "true"]),
        plain(&["check", "--json"]),
        plain(&["completions", "bash"]),
        plain(&["--help"]),
        with_root(&["ls"]),
        with_root(&["ls", "--json"]),
        with_root(&["image", "ls"]),
        with_root(&["status", "box"]),
        with_root(&["logs", "box"]),
    ]
}

/// An environment `box` (created, not started) with a console log to print.
fn environment_with_a_log(sb: &Sandbox) {
    let root = sb.path().join("state");
    let mut create = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    ok(&create
        .args(["create", "box", "--host"])
        .output()
        .expect("spawn hutch"));
    let log = root.join("data/envs/box/console.log");
    std::fs::write(&log, "hutch: environment box running\n".repeat(2000)).unwrap();
    chown(&log, Some(sb.launcher.uid), Some(sb.launcher.gid)).unwrap();
}

#[test]
fn a_full_device_on_stdout_is_an_error() {
    let Some(sb) = sandbox() else { return };
    environment_with_a_log(&sb);
    for args in commands(&sb) {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = sb.hutch(&args).stdout(full).output().expect("spawn hutch");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert_eq!(
            err.trim_end(),
            "hutch: cannot write output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let Some(sb) = sandbox() else { return };
    environment_with_a_log(&sb);
    for args in commands(&sb) {
        // The reading end is closed before hutch starts: its first write meets EPIPE.
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let out = sb
            .hutch(&args)
            .stdout(Stdio::from(write))
            .output()
            .expect("spawn hutch");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {:?} {}",
            out.status,
            stderr(&out)
        );
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// The shell's view: `hutch ... | head -1` gives hutch's status 0, with pipefail too.
#[test]
fn a_pipeline_that_stops_reading_succeeds() {
    let Some(sb) = sandbox() else { return };
    let script = format!(
        "set -o pipefail; '{}' completions bash | head -c 1 >/dev/null; s1=$?; \
         '{0}' profile ls | head -c0; echo \"$s1 ${{PIPESTATUS[0]}}\"",
        sb.launcher.binary.display()
    );
    let out = sb
        .launcher
        .program("bash", sb.path())
        .args(["-c", &script])
        .output()
        .expect("spawn bash");
    assert_eq!(ok(&out).trim(), "0 0", "{}", stderr(&out));
}

#[test]
fn a_failing_stderr_does_not_panic() {
    let Some(sb) = sandbox() else { return };
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    // An error to report, on a stderr that cannot take it: still 125, no abort.
    let out = sb
        .hutch(["profile", "show", "no-such-profile"])
        .stderr(full)
        .output()
        .expect("spawn hutch");
    assert_eq!(out.status.code(), Some(125), "{:?}", out.status);
    // The -v log on a stderr that cannot take it: the command runs as without the log.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = sb
        .hutch(["-vv", "run", "--", "sh", "-c", "exit 3"])
        .stderr(full)
        .output()
        .expect("spawn hutch");
    assert_eq!(out.status.code(), Some(3), "{:?}", out.status);
}
