//! `hutch enter` feels like a login (issue 18): the shell from the environment's /etc/passwd,
//! the caller's $TERM and window size, a tty of the environment, job control, and Ctrl-C and
//! Ctrl-Z delivered to the command inside, never to hutch. Driven through a real pty of the
//! test's own, as a terminal emulator would.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use super::environments::{busybox_image, hutch, subuid_start, Cleanup};
use super::exec_terminal::{command, host_environment, host_pty, read_all, read_until};
use super::harness::{ok, sandbox, Sandbox};

/// `hutch enter NAME` on a pty of `rows` x `cols` with `TERM=term`: hutch and the master.
fn enter_on_pty(sb: &Sandbox, name: &str, term: &str) -> (Child, std::fs::File) {
    let (master, slave) = host_pty(33, 101);
    let mut cmd = command(sb, &["enter", name]);
    cmd.env("TERM", term)
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    let child = cmd.spawn().unwrap();
    (child, std::fs::File::from(master))
}

fn type_in(master: &mut std::fs::File, keys: &[u8]) {
    master.write_all(keys).unwrap();
    std::thread::sleep(Duration::from_millis(300));
}

/// Wait until the one process whose command line holds `marker` is in a state (the letter in
/// /proc/PID/stat: R, S, T...) that satisfies `wanted`; fails after 15 s.
fn wait_for_state(marker: &str, wanted: impl Fn(char) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = super::harness::processes_with(marker);
        if let [pid] = found[..] {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            if state.is_some_and(&wanted) {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{marker}: not in the state wanted ({found:?})"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn enter_is_a_login_with_job_control_and_signals_to_the_command() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "login", &[]);
    // A host environment's /etc/passwd is the host's.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let shell = passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields[0] == sb.launcher.name).then(|| fields[6].to_owned())
        })
        .unwrap();
    let (mut child, mut master) = enter_on_pty(&sb, "login", "xterm-256color");
    // Answers carry markers (`X=`) the echoed command line does not have once expanded.
    type_in(
        &mut master,
        b"echo T=$(tty) S=$(stty size) TERM=$TERM SH=$SHELL Z=$0 END\n",
    );
    let answer = read_until(&master, " END\n", 15);
    assert!(answer.contains("T=/dev/pts/"), "{answer}");
    assert!(answer.contains("S=33 101"), "{answer}");
    assert!(answer.contains("TERM=xterm-256color"), "{answer}");
    assert!(answer.contains(&format!("SH={shell}")), "{answer}");
    // Job control: a foreground job stopped with Ctrl-Z and taken back with fg... Each key
    // goes in only once the job is in the state it acts on: a busy machine may take longer
    // than any fixed pause to start or resume it.
    let job = format!("sleep 100{}", std::process::id());
    type_in(&mut master, format!("{job}\n").as_bytes());
    wait_for_state(&job, |state| state != 'T');
    type_in(&mut master, b"\x1a");
    read_until(&master, "Stopped", 15);
    wait_for_state(&job, |state| state == 'T');
    type_in(&mut master, b"jobs; fg\n");
    wait_for_state(&job, |state| state != 'T');
    // ...and Ctrl-C ends it, not hutch: the shell reports the job's SIGINT and goes on.
    type_in(&mut master, b"\x03");
    type_in(&mut master, b"echo RC=$? STILL-HERE\n");
    read_until(&master, "RC=130 STILL-HERE", 15);
    type_in(&mut master, b"exit 7\n");
    let rest = read_all(master.into(), 15);
    assert_eq!(child.wait().unwrap().code(), Some(7), "{rest}");
}

#[test]
fn enter_starts_the_shell_of_roots_passwd_line_in_an_image_environment() {
    let Some(sb) = sandbox() else { return };
    if subuid_start(&sb).is_none() {
        assert!(
            !super::harness::strict(),
            "the test user needs a subuid range"
        );
        return;
    }
    let Some(tarball) = busybox_image(&sb) else {
        return;
    };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(
        &sb,
        &["create", "img", "--image", "bb", "--net", "none"],
    ));
    ok(&hutch(&sb, &["start", "img"]));
    // root's shell becomes busybox's ash, under another name than the default /bin/sh.
    ok(&hutch(
        &sb,
        &[
            "exec",
            "img",
            "--",
            "sh",
            "-c",
            "ln -s busybox /bin/ash && echo root:x:0:0:root:/root:/bin/ash > /etc/passwd",
        ],
    ));
    let (mut child, mut master) = enter_on_pty(&sb, "img", "vt220");
    type_in(
        &mut master,
        b"echo SH=$SHELL Z=$0 TERM=$TERM U=$(id -u) END\n",
    );
    let answer = read_until(&master, " END\n", 15);
    assert!(
        answer.contains("SH=/bin/ash Z=/bin/ash TERM=vt220 U=0"),
        "{answer}"
    );
    type_in(&mut master, b"exit\n");
    read_all(master.into(), 15);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    ok(&hutch(&sb, &["rm", "-f", "img"]));
}
