//! Exit statuses and the errors a person sees.

use std::os::unix::process::CommandExt;

use super::harness::{sandbox, stderr};

#[track_caller]
fn status(out: &std::process::Output) -> i32 {
    out.status
        .code()
        .expect("hutch itself is not killed by a signal")
}

#[test]
fn the_payloads_status_passes_through() {
    let Some(sb) = sandbox() else { return };
    assert_eq!(status(&sb.run(&["--", "true"])), 0);
    assert_eq!(status(&sb.sh("exit 7")), 7);
    assert_eq!(status(&sb.sh("kill -9 $$")), 137);
    assert_eq!(status(&sb.sh("kill -TERM $$")), 143);
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&["--", "hutch-no-such-command"]);
    assert_eq!(status(&out), 127);
    assert!(
        stderr(&out).contains("command not found: hutch-no-such-command"),
        "{}",
        stderr(&out)
    );

    // A path is not searched for: the error says the file is missing, not which PATH was tried.
    let out = sb.run(&["--", "/hutch-no-such-dir/cmd"]);
    assert_eq!(status(&out), 127);
    let err = stderr(&out);
    assert!(
        err.contains("command not found: /hutch-no-such-dir/cmd (no such file inside the sandbox)"),
        "{err}"
    );
    assert!(!err.contains("PATH=") && !err.contains(".//"), "{err}");

    sb.write("plain.txt", "not a program");
    let out = sb.run(&["--", "./plain.txt"]);
    assert_eq!(status(&out), 126);
    assert!(
        stderr(&out).contains("cannot execute ./plain.txt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_flags_are_125() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&["--no-such-flag", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(stderr(&out).contains("--no-such-flag"), "{}", stderr(&out));
    // A missing command is a usage error too.
    assert_eq!(status(&sb.run(&[])), 125);
    // A bare NAME passes the host's variable; a value without a name is an error.
    let out = sb.run(&["--env", "=NONAME", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(
        stderr(&out).contains("--env: expected NAME=VALUE or NAME"),
        "{}",
        stderr(&out)
    );
    let out = sb.run(&["--profile", "nope", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(
        stderr(&out).contains("hint: profiles that exist: base, default"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_bind_source_is_125_and_named() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&["--bind", "/hutch/does/not/exist:/x", "--", "true"]);
    assert_eq!(status(&out), 125);
    let err = stderr(&out);
    assert!(
        err.contains(
            "--bind /hutch/does/not/exist:/x: source /hutch/does/not/exist does not exist"
        ),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    let out = sb.run(&["--tmpfs", "relative", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(
        stderr(&out).contains("must be an absolute path"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn set_up_failures_inside_name_the_step_and_give_a_hint() {
    let Some(sb) = sandbox() else { return };
    // A file cannot be mounted on a directory.
    sb.write("F", "file\n");
    let out = sb.run(&["--ro-bind", "F:/usr", "--", "true"]);
    assert_eq!(status(&out), 125);
    let err = stderr(&out);
    assert!(
        err.contains("cannot build the sandbox's file system"),
        "{err}"
    );
    assert!(err.contains("on /usr"), "{err}");
    assert!(err.contains("hint: "), "{err}");

    let out = sb.run(&["--chdir", "/hutch-missing", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(
        stderr(&out).contains("cannot enter the working directory /hutch-missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn disabled_user_namespaces_are_explained() {
    let Some(sb) = sandbox() else { return };
    // user.max_user_namespaces is per user namespace: set it to 0 in a namespace of our own, and
    // hutch inside meets the same refusal as on a host where an admin disabled them.
    let script = "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" run -- true";
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", script])
        .arg(&sb.launcher.binary)
        .current_dir(sb.path())
        .uid(sb.launcher.uid)
        .gid(sb.launcher.gid)
        .output()
        .expect("unshare (util-linux) is needed for this test");
    assert_eq!(status(&out), 125, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot create the sandbox's namespaces"),
        "{err}"
    );
    assert!(
        err.contains("hint: user namespaces are disabled (user.max_user_namespaces = 0)"),
        "{err}"
    );
}

#[test]
fn resource_limits_apply_and_cannot_be_raised() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&[
        "--rlimit",
        "nofile=64",
        "--",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn",
    ]);
    assert_eq!(super::harness::ok(&out), "64\n64\n");
    let out = sb.run(&["--rlimit", "nofile=8:unlimited", "--", "true"]);
    assert_eq!(status(&out), 125);
    let err = stderr(&out);
    assert!(err.contains("cannot set resource limit nofile"), "{err}");
    assert!(
        err.contains("hint: without privileges a hard limit can only be lowered"),
        "{err}"
    );
    let out = sb.run(&["--rlimit", "files=1", "--", "true"]);
    assert_eq!(status(&out), 125);
    assert!(
        stderr(&out).contains("unknown resource limit \"files\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn signals_ignored_where_hutch_starts_stay_ignored_and_none_blocked() {
    let Some(sb) = sandbox() else { return };
    // As `nohup hutch run ...` starts it: SIGHUP ignored. execve keeps what is ignored, and so
    // must hutch; what hutch blocks for itself must not reach the command.
    let out = sb
        .launcher
        .program("/bin/sh", sb.path())
        .args([
            "-c",
            "trap '' HUP; exec \"$0\" run -- cat /proc/self/status",
        ])
        .arg(&sb.launcher.binary)
        .output()
        .expect("spawn sh");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let field = |name: &str| -> u64 {
        let status = super::harness::stdout(&out);
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {status}"));
        u64::from_str_radix(line.trim(), 16).unwrap()
    };
    let sighup = 1 << (libc::SIGHUP - 1);
    let sigpipe = 1 << (libc::SIGPIPE - 1);
    assert_eq!(
        field("SigIgn:") & sighup,
        sighup,
        "SIGHUP is no longer ignored"
    );
    assert_eq!(field("SigIgn:") & sigpipe, 0, "SIGPIPE is ignored");
    assert_eq!(field("SigBlk:"), 0, "signals are blocked");
}

#[test]
fn the_command_gets_default_signal_dispositions() {
    let Some(sb) = sandbox() else { return };
    // An ignored SIGPIPE would survive execve; the command must start with the default.
    let out = sb.sh("yes | head -n 1");
    assert_eq!(super::harness::stdout(&out), "y\n");
    assert!(!stderr(&out).contains("Broken pipe"), "{}", stderr(&out));
    assert_eq!(status(&out), 0);
}
