//! `hutch exec` and `hutch enter` never hand the caller's descriptors to the environment: a
//! pty of the environment's own or pipes (issue 15, finding 1); the joining process cannot be
//! seized from inside (finding 6); the joined command is confined like the environment; and a
//! hostile /etc/passwd cannot hang or exhaust `enter --user` (issue 14, item 7).

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::environments::{busybox_image, hutch, subuid_start, Cleanup};
use super::harness::{ok, sandbox, stderr, stdout, unique_marker, Sandbox};

/// `hutch --root <work>/state ARGS...`, not yet spawned.
pub(super) fn command(sb: &Sandbox, args: &[&str]) -> Command {
    let root = sb.path().join("state");
    let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    cmd.args(args);
    cmd
}

/// A host environment `name`, started.
pub(super) fn host_environment(sb: &Sandbox, name: &str, extra: &[&str]) {
    let mut args = vec!["create", name, "--host"];
    args.extend_from_slice(extra);
    ok(&hutch(sb, &args));
    ok(&hutch(sb, &["start", name]));
}

/// A pty of the test's own, `rows` x `cols`: the caller's terminal.
pub(super) fn host_pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
    (pty.master, pty.slave)
}

/// Everything the master gets until no slave is open any more (EIO), or `seconds` pass.
pub(super) fn read_all(master: OwnedFd, seconds: u64) -> String {
    let mut file = std::fs::File::from(master);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    let fd = file.as_fd().try_clone_to_owned().unwrap();
    while Instant::now() < deadline {
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)).unwrap_or(0) == 0 {
            continue;
        }
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&text).replace('\r', "")
}

/// The modes of a terminal, as `stty` would change them.
fn modes(terminal: &OwnedFd) -> String {
    let t = nix::sys::termios::tcgetattr(terminal.as_fd()).unwrap();
    format!(
        "{:?} {:?} {:?} {:?}",
        t.input_flags, t.output_flags, t.control_flags, t.local_flags
    )
}

/// (device, inode) of what `fd` is open on.
fn identity(fd: impl AsFd) -> (u64, u64) {
    let stat = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd())).unwrap();
    (stat.st_dev, stat.st_ino)
}

/// Processes other than this test holding a descriptor on (device, inode).
fn holders_of(target: (u64, u64)) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut holders = Vec::new();
    for process in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = process.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(meta) = std::fs::metadata(fd.path()) {
                if (meta.dev(), meta.ino()) == target {
                    holders.push(format!("{pid} ({})", fd.path().display()));
                }
            }
        }
    }
    holders
}

#[test]
fn exec_with_a_terminal_gets_a_pty_of_the_environment_and_keeps_nothing_of_the_host() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "term", &[]);
    let (master, slave) = host_pty(37, 101);
    let host_terminal = identity(&slave);
    let before = modes(&slave);
    let marker = unique_marker();
    // The attack: a process that leaves the session, ignores SIGHUP and stays, to read what is
    // typed into the caller's terminal once hutch has returned.
    let script = format!(
        "tty; stty size; readlink /proc/self/fd/0; \
         setsid sh -c 'trap \"\" HUP; exec sleep {marker}' & \
         sleep 0.2; echo done"
    );
    let mut cmd = command(&sb, &["exec", "term", "--", "sh", "-c", &script]);
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let status = child.wait().unwrap();
    // hutch put the caller's terminal in raw mode while it relayed, and restored it.
    assert_eq!(modes(&slave), before);
    // Also when the command could not even start.
    let mut cmd = command(&sb, &["exec", "term", "--", "/nonexistent"]);
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    assert_eq!(cmd.status().unwrap().code(), Some(127));
    drop(cmd);
    assert_eq!(modes(&slave), before);
    drop(slave);
    let output = read_all(master, 10);
    assert!(status.success(), "{status:?}: {output}");
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        lines.len() >= 4 && lines[0].starts_with("/dev/pts/"),
        "`tty` inside names a pty: {output:?}"
    );
    assert_eq!(lines[1], "37 101", "the window size is the caller's");
    assert_eq!(lines[2], lines[0], "fd 0 is the pty inside: {output:?}");
    assert_eq!(lines[3], "done");
    // The survivor holds the environment's pty, and nothing anywhere but this test holds the
    // caller's terminal.
    let survivors = super::harness::processes_with(&format!("sleep {marker}"));
    assert_eq!(survivors.len(), 1, "the background process runs on");
    let survivor_stdin = std::fs::metadata(format!("/proc/{}/fd/0", survivors[0])).unwrap();
    assert_ne!((survivor_stdin.dev(), survivor_stdin.ino()), host_terminal);
    // This test's own copy of the slave is closed: nothing may hold the caller's terminal.
    assert_eq!(holders_of(host_terminal), Vec::<String>::new());
}

/// Read from `master` until the text read so far contains `needle`; the text (without \r).
pub(super) fn read_until(master: &std::fs::File, needle: &str, seconds: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&text)
        .replace('\r', "")
        .contains(needle)
    {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {:?}",
            String::from_utf8_lossy(&text)
        );
        let mut fds = [nix::poll::PollFd::new(
            master.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)).unwrap_or(0) == 0 {
            continue;
        }
        match (&*master).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&text).replace('\r', "")
}

#[test]
fn a_resized_terminal_resizes_the_pty_inside() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "winch", &[]);
    let (master, slave) = host_pty(20, 70);
    let mut cmd = command(
        &sb,
        &[
            "exec",
            "winch",
            "--",
            "sh",
            "-c",
            "echo A=$(stty size); read x; echo B=$(stty size)",
        ],
    );
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let master = std::fs::File::from(master);
    read_until(&master, "A=20 70", 15);
    // What a terminal emulator does when its window changes: the new size on the terminal,
    // SIGWINCH to the foreground process group (here hutch alone).
    let path = nix::unistd::ttyname(slave.as_fd()).unwrap();
    let resized = Command::new("stty")
        .arg("-F")
        .arg(&path)
        .args(["rows", "50", "cols", "132"])
        .status()
        .unwrap();
    assert!(resized.success());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGWINCH,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    (&master).write_all(b"\r").unwrap();
    read_until(&master, "B=50 132", 15);
    assert!(child.wait().unwrap().success());
    drop(slave);
}

#[test]
fn enter_with_a_terminal_gets_a_controlling_pty_of_its_own() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "ent", &[]);
    let (master, slave) = host_pty(24, 80);
    let mut cmd = command(&sb, &["enter", "ent"]);
    cmd.env("SHELL", "/bin/sh")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    drop(slave);
    let mut input = std::fs::File::from(master.try_clone().unwrap());
    // Typed as a person would; the pty inside echoes it, so the answers carry markers the
    // echoed line does not.
    std::io::Write::write_all(&mut input, b"echo T=$(tty); echo S=$(stty size); exit 5\n").unwrap();
    let output = read_all(master, 15);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "{output}");
    assert!(
        output.contains("T=/dev/pts/"),
        "a tty of its own: {output:?}"
    );
    assert!(output.contains("S=24 80"), "the caller's size: {output:?}");
}

#[test]
fn exec_without_a_terminal_uses_pipes() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "pipes", &[]);
    let mut cmd = command(&sb, &["exec", "pipes", "--", "cat"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"hi\n").unwrap();
    assert_eq!(ok(&child.wait_with_output().unwrap()), "hi\n");
    let out = hutch(
        &sb,
        &["exec", "pipes", "--", "sh", "-c", "echo err >&2; exit 7"],
    );
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stderr(&out), "err\n");
    // Everything the command wrote before it ended arrives, however slowly it is read: here
    // it ends with up to a pipe's worth (1 MiB) still in hutch's pipe, which this reader then
    // takes in small pieces.
    let mut cmd = command(
        &sb,
        &[
            "exec",
            "pipes",
            "--",
            "sh",
            "-c",
            "yes 0123456789abcdef | head -c 3000000",
        ],
    );
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut reader = child.stdout.take().unwrap();
    let (mut total, mut buf) = (0, [0u8; 512]);
    loop {
        match reader.read(&mut buf).unwrap() {
            0 => break,
            n => total += n,
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(total, 3_000_000, "bytes lost after the command ended");
    // -t without a terminal: a pty anyway.
    let out = ok(&hutch(&sb, &["exec", "-t", "pipes", "--", "tty"]));
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    // A host file on stdin: inside, fd 0 is a pipe, and reopening it for writing reaches the
    // pipe, not the file.
    let file = sb.write("precious", "original\n");
    let mut cmd = command(
        &sb,
        &[
            "exec",
            "pipes",
            "--",
            "sh",
            "-c",
            "readlink /proc/self/fd/0; echo pwned > /proc/self/fd/0; cat /dev/tty 2>&1; exit 0",
        ],
    );
    cmd.stdin(std::fs::File::open(&file).unwrap());
    let out = cmd.output().unwrap();
    let text = stdout(&out);
    assert!(text.starts_with("pipe:"), "fd 0 inside is a pipe: {text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "original\n");
    // No controlling terminal inside either: /dev/tty cannot reach the caller's.
    assert!(
        text.contains("No such device or address") || text.contains("No such file"),
        "{text}"
    );
}

#[test]
fn exec_without_a_terminal_cannot_open_the_callers_controlling_terminal() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "ctty", &[]);
    let (master, slave) = host_pty(24, 80);
    // hutch runs with the test's pty as its controlling terminal (setsid --ctty) and on stdin,
    // stdout a pipe: no pty inside, and the command must not reach the terminal by /dev/tty.
    let root = sb.path().join("state");
    let mut cmd = sb.launcher.program("setsid", sb.path());
    cmd.arg("--ctty")
        .arg(&sb.launcher.binary)
        .arg("--root")
        .arg(&root)
        .args(["exec", "ctty", "--", "sh", "-c"])
        .arg("cat /dev/tty; echo status=$?")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(cmd);
    std::io::Write::write_all(&mut std::fs::File::from(master), b"typed on the host\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert!(!text.contains("typed on the host"), "{text}");
    assert!(text.contains("status=1"), "{text}\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("No such device or address"),
        "ENXIO: no controlling terminal inside: {}",
        stderr(&out)
    );
    drop(slave);
}

/// The capability bits of `names` (linux/capability.h).
fn capability_mask(names: &[&str]) -> u64 {
    let number = |name: &str| match name {
        "CHOWN" => 0,
        "DAC_OVERRIDE" => 1,
        "FOWNER" => 3,
        "FSETID" => 4,
        "KILL" => 5,
        "SETGID" => 6,
        "SETUID" => 7,
        "SETPCAP" => 8,
        "NET_BIND_SERVICE" => 10,
        "SYS_CHROOT" => 18,
        "SYS_BOOT" => 22,
        "AUDIT_WRITE" => 29,
        "SETFCAP" => 31,
        other => panic!("unknown capability {other}"),
    };
    names.iter().fold(0, |mask, name| mask | 1 << number(name))
}

/// `Field:` of a /proc/PID/status text.
fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
}

#[track_caller]
fn assert_confined(status: &str, allowed_caps: u64) {
    assert_eq!(status_field(status, "Seccomp"), "2", "{status}");
    assert_eq!(status_field(status, "NoNewPrivs"), "1", "{status}");
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
        let value = u64::from_str_radix(status_field(status, set), 16).unwrap();
        assert_eq!(
            value & !allowed_caps,
            0,
            "{set} {value:x} holds more than {allowed_caps:x}"
        );
    }
}

#[test]
fn exec_and_enter_are_confined_like_the_environment() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    host_environment(&sb, "conf", &[]);
    // The user mapped to itself keeps no capability at all.
    let status = ok(&hutch(
        &sb,
        &["exec", "conf", "--", "cat", "/proc/self/status"],
    ));
    assert_confined(&status, 0);
    let mut login = command(&sb, &["enter", "conf"]);
    login
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = login.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"cat /proc/self/status\n")
        .unwrap();
    assert_confined(&ok(&child.wait_with_output().unwrap()), 0);
    // Root inside keeps the documented list (profiles/base.toml, and SYS_BOOT so that reboot
    // inside restarts the environment: README) and nothing more.
    host_environment(&sb, "root", &["--map-root"]);
    let status = ok(&hutch(
        &sb,
        &["exec", "root", "--", "cat", "/proc/self/status"],
    ));
    let documented = capability_mask(&[
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "SETFCAP",
        "AUDIT_WRITE",
        "SYS_BOOT",
    ]);
    assert_confined(&status, documented);
    assert_ne!(
        u64::from_str_radix(status_field(&status, "CapEff"), 16).unwrap(),
        0,
        "root inside keeps its list"
    );
}

/// Inside the environment: wait for `hutch exec` helpers (comm "hutch", before their execve),
/// stop each, and try to take it over; first the same on a process of its own, which must
/// work, or the attempts prove nothing. Prints one JSON object.
const SEIZE: &str = r#"
import ctypes, json, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
PTRACE_SEIZE, PTRACE_DETACH = 0x4206, 17
def attempt(pid):
    r = {}
    ret = libc.ptrace(PTRACE_SEIZE, pid, 0, 0)
    r["ptrace"] = 0 if ret == 0 else ctypes.get_errno()
    if ret == 0:
        libc.ptrace(PTRACE_DETACH, pid, 0, 0)
    for what in ("environ", "fd"):
        try:
            path = f"/proc/{pid}/{what}"
            os.listdir(path) if what == "fd" else open(path, "rb").read()
            r[what] = 0
        except OSError as e:
            r[what] = e.errno
    pidfd = libc.syscall(434, pid, 0)
    if pidfd >= 0:
        ret = libc.syscall(438, pidfd, 0, 0)
        r["getfd"] = 0 if ret >= 0 else ctypes.get_errno()
        os.close(pidfd)
    return r
own = os.fork()
if own == 0:
    time.sleep(60)
    os._exit(0)
time.sleep(0.1)
control = attempt(own)
os.kill(own, signal.SIGKILL)
print("ready", flush=True)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
me, seen, caught = os.getpid(), {1}, []
deadline = time.time() + float(sys.argv[1])
while time.time() < deadline and len(caught) < 3 and not stop:
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in seen or int(name) == me:
            continue
        pid = int(name)
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        seen.add(pid)
        if comm != "hutch":
            continue
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            continue
        try:
            # Once it is stopped (at a return to user space) it is either still hutch's own
            # code, before the command, or already the command: an execve caught in flight
            # still shows the old name until it completes.
            for _ in range(1000):
                if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] in "Tt":
                    break
                time.sleep(0.001)
            if open(f"/proc/{pid}/comm").read().strip() == "hutch":
                caught.append(attempt(pid))
        except OSError:
            pass
        finally:
            os.kill(pid, signal.SIGCONT)
print(json.dumps({"control": control, "caught": caught}), flush=True)
"#;

#[test]
fn the_joining_process_cannot_be_seized_from_inside_without_landlock() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    // No Landlock: its signal scope would keep the attacker from even stopping the helper, and
    // the guarantee must hold without it.
    let profile = sb.write(
        "no-landlock.toml",
        "extends = \"base\"\n[landlock]\nmode = \"off\"\n",
    );
    host_environment(&sb, "seize", &["--profile", profile.to_str().unwrap()]);
    let mut attacker = command(&sb, &["exec", "seize", "--", "python3", "-c", SEIZE, "60"]);
    attacker.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut attacker = attacker.spawn().unwrap();
    let mut lines = std::io::BufReader::new(attacker.stdout.take().unwrap());
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut lines, &mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    for _ in 0..300 {
        if attacker.try_wait().unwrap().is_some() {
            break;
        }
        let out = hutch(&sb, &["exec", "seize", "--", "true"]);
        // A helper stopped and resumed still runs its command.
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(attacker.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let mut report = String::new();
    lines.read_to_string(&mut report).unwrap();
    let _ = attacker.wait();
    let report: serde_json::Value = serde_json::from_str(report.trim())
        .unwrap_or_else(|e| panic!("attacker printed {report:?}: {e}"));
    let control = &report["control"];
    assert_eq!(
        (&control["ptrace"], &control["environ"], &control["fd"]),
        (&0.into(), &0.into(), &0.into()),
        "the attempts work on an ordinary process inside: {report}"
    );
    let caught = report["caught"].as_array().unwrap();
    assert!(
        !caught.is_empty(),
        "the attacker never caught a joining hutch before its execve; nothing was proved"
    );
    let (eperm, eacces) = (libc::EPERM, libc::EACCES);
    for attempt in caught {
        assert_eq!(attempt["ptrace"], eperm, "PTRACE_SEIZE: {attempt}");
        assert_eq!(attempt["environ"], eacces, "/proc/PID/environ: {attempt}");
        assert_eq!(attempt["fd"], eacces, "/proc/PID/fd: {attempt}");
        assert_eq!(attempt["getfd"], eperm, "pidfd_getfd: {attempt}");
    }
}

#[test]
fn enter_user_refuses_a_hostile_passwd() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image(&sb) else {
        return;
    };
    if subuid_start(&sb).is_none() {
        assert!(
            !super::harness::strict(),
            "the test user needs a /etc/subuid range"
        );
    }
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(&sb, &["create", "pw", "--image", "bb"]));
    ok(&hutch(&sb, &["start", "pw"]));
    for (plant, expected) in [
        ("mkfifo /etc/passwd", "is not a regular file (it is a FIFO)"),
        ("truncate -s 2M /etc/passwd", "is 2097152 bytes, more than"),
        ("ln -s /proc/self/environ /etc/passwd", "is a symbolic link"),
    ] {
        ok(&hutch(
            &sb,
            &[
                "exec",
                "pw",
                "--",
                "sh",
                "-c",
                &format!("rm -f /etc/passwd; {plant}"),
            ],
        ));
        let started = Instant::now();
        let out = hutch(&sb, &["enter", "pw", "--user", "root"]);
        assert!(started.elapsed() < Duration::from_secs(10), "{plant}: hung");
        assert_eq!(out.status.code(), Some(125), "{plant}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{plant}: {}", stderr(&out));
    }
    ok(&hutch(
        &sb,
        &[
            "exec",
            "pw",
            "--",
            "sh",
            "-c",
            "rm -f /etc/passwd; echo root:x:0:0:root:/root:/bin/sh > /etc/passwd",
        ],
    ));
    let mut login = command(&sb, &["enter", "pw", "--user", "root"]);
    login.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = login.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"id -u\n").unwrap();
    assert_eq!(ok(&child.wait_with_output().unwrap()), "0\n");
}
