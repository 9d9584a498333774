//! Persistent environments: the lifecycle, reboot from inside, crash recovery, concurrency and
//! what is left behind.

use std::path::PathBuf;
use std::process::Output;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::harness::{
    assert_mounts_unchanged, eventually, host_mounts, ok, processes_running, sandbox, stderr,
    Sandbox,
};

/// `hutch --root <work>/state ARGS...`
pub(super) fn hutch(sb: &Sandbox, args: &[&str]) -> Output {
    let root = sb.path().join("state");
    let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    cmd.args(args);
    cmd.output().expect("spawn hutch")
}

fn state(sb: &Sandbox, name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&hutch(sb, &["status", name, "--json"]))).unwrap()
}

/// The live state of environment `name` (removed when it stops).
fn run_dir(sb: &Sandbox, name: &str) -> PathBuf {
    sb.path().join("state/data/envs").join(name).join("run")
}

/// Processes whose command line is a hutch with this test's state root (supervisors included).
fn hutch_processes(sb: &Sandbox) -> Vec<u32> {
    let root = sb.path().join("state").display().to_string();
    processes_running(&sb.launcher.binary.display().to_string())
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&root))
        })
        .collect()
}

/// Kills whatever a failing test left running under its state root (a supervisor takes its
/// environment with it), so one failure does not leave environments behind.
pub(super) struct Cleanup<'a>(pub(super) &'a Sandbox);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for pid in hutch_processes(self.0) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

/// Wait up to `seconds` for `name` to run again with another PID 1 than in `before`.
#[track_caller]
fn assert_restarted(sb: &Sandbox, name: &str, before: &serde_json::Value, seconds: u64) {
    let restarted = eventually(seconds, || {
        let now = state(sb, name);
        now["status"] == "running" && now["init_pid"] != before["init_pid"]
    });
    assert!(restarted, "{name} did not restart: {}", state(sb, name));
}

/// hutch processes, and environments with live state, under this test's state root.
fn leftovers(sb: &Sandbox) -> (Vec<u32>, usize) {
    let live = std::fs::read_dir(sb.path().join("state/data/envs"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| run_dir(sb, &e.file_name().to_string_lossy()).exists())
                .count()
        })
        .unwrap_or(0);
    (hutch_processes(sb), live)
}

#[test]
fn lifecycle_with_state_that_survives_restart() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(&sb, &["create", "dev", "--host"]));
    assert_eq!(state(&sb, "dev")["status"], "stopped");
    ok(&hutch(&sb, &["start", "dev"]));
    let running = state(&sb, "dev");
    assert_eq!(running["status"], "running");
    let out = ok(&hutch(
        &sb,
        &[
            "exec",
            "dev",
            "--",
            "sh",
            "-c",
            "hostname; id -u; echo kept > ~/state; echo $$",
        ],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "dev");
    assert_eq!(lines[1], sb.launcher.uid.to_string());
    assert_ne!(lines[2], "1", "exec'd commands are not PID 1");
    assert_eq!(
        hutch(&sb, &["exec", "dev", "--", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
    ok(&hutch(&sb, &["restart", "dev"]));
    let restarted = state(&sb, "dev");
    assert_ne!(restarted["init_pid"], running["init_pid"]);
    assert_eq!(restarted["restarts"], 1);
    assert_eq!(
        ok(&hutch(
            &sb,
            &[
                "exec",
                "dev",
                "--",
                "cat",
                &format!("{}/state", sb.launcher.home.display())
            ]
        )),
        "kept\n"
    );
    let listing: serde_json::Value =
        serde_json::from_str(&ok(&hutch(&sb, &["ls", "--json"]))).unwrap();
    let env = &listing.as_array().unwrap()[0];
    for key in [
        "name",
        "status",
        "source",
        "profile",
        "map_root",
        "init_pid",
        "since",
        "restarts",
        "last_stop",
        "created",
        "home",
    ] {
        assert!(env.get(key).is_some(), "ls --json lacks {key}: {env}");
    }
    ok(&hutch(&sb, &["stop", "dev"]));
    assert_eq!(state(&sb, "dev")["status"], "stopped");
    let log = ok(&hutch(&sb, &["logs", "dev"]));
    assert!(
        log.contains("environment dev running") && log.contains("restarting (hutch restart)"),
        "{log}"
    );
    assert!(log.contains("environment dev stopped"), "{log}");
    let out = hutch(&sb, &["exec", "dev", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
    ok(&hutch(&sb, &["rm", "dev"]));
    assert!(!sb.path().join("state/data/envs/dev").exists());
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

#[test]
fn reboot_inside_restarts_and_poweroff_stops() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(&sb, &["create", "box", "--host", "--map-root"]));
    ok(&hutch(&sb, &["start", "box"]));
    let before = state(&sb, "box");
    ok(&hutch(
        &sb,
        &[
            "exec",
            "box",
            "--",
            "sh",
            "-c",
            "id -u > /root/uid; echo on > ~/mark",
        ],
    ));
    let reboot = "import ctypes; ctypes.CDLL(None, use_errno=True).reboot(0x01234567)";
    let _ = hutch(&sb, &["exec", "box", "--", "python3", "-c", reboot]);
    assert_restarted(&sb, "box", &before, 10);
    assert_eq!(state(&sb, "box")["restarts"], 1);
    let home = sb.launcher.home.display().to_string();
    assert_eq!(
        ok(&hutch(
            &sb,
            &["exec", "box", "--", "cat", &format!("{home}/mark")]
        )),
        "on\n"
    );
    let poweroff = "import ctypes; ctypes.CDLL(None, use_errno=True).reboot(0x4321FEDC)";
    let _ = hutch(&sb, &["exec", "box", "--", "python3", "-c", poweroff]);
    assert!(
        eventually(10, || state(&sb, "box")["status"] == "stopped"),
        "{}",
        state(&sb, "box")
    );
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

#[test]
fn crash_of_either_process_is_recovered() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(&sb, &["create", "c", "--host"]));
    for victim in ["supervisor", "init"] {
        ok(&hutch(&sb, &["start", "c"]));
        let running = state(&sb, "c");
        let pid = match victim {
            "init" => running["init_pid"].as_i64().unwrap() as i32,
            _ => {
                let path = run_dir(&sb, "c").join("state.json");
                let raw: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
                raw["supervisor"].as_i64().unwrap() as i32
            }
        };
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        assert!(
            eventually(5, || state(&sb, "c")["status"] == "stopped"),
            "{victim}: {}",
            state(&sb, "c")
        );
        assert!(
            eventually(5, || leftovers(&sb) == (vec![], 0)),
            "{victim}: left behind: {:?}",
            leftovers(&sb)
        );
    }
    ok(&hutch(&sb, &["start", "c"]));
    ok(&hutch(&sb, &["rm", "-f", "c"]));
}

#[test]
fn concurrent_starts_give_one_environment() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(&sb, &["create", "once", "--host"]));
    let results: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| hutch(&sb, &["start", "once"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &results {
        assert!(out.status.success(), "{}", stderr(out));
    }
    assert_eq!(state(&sb, "once")["status"], "running");
    // One supervisor and its PID 1 (a clone of it, hence the same command line).
    let running = state(&sb, "once");
    let path = run_dir(&sb, "once").join("state.json");
    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let supervisor = raw["supervisor"].as_u64().unwrap() as u32;
    let mut expected = vec![supervisor, running["init_pid"].as_u64().unwrap() as u32];
    expected.sort();
    let mut found = hutch_processes(&sb);
    found.sort();
    assert_eq!(found, expected, "exactly one supervisor and its PID 1");
    ok(&hutch(&sb, &["stop", "once"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

#[test]
fn many_start_stop_cycles_leave_nothing_behind() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    ok(&hutch(&sb, &["create", "cycle", "--host"]));
    let mounts = host_mounts();
    for _ in 0..200 {
        ok(&hutch(&sb, &["start", "cycle"]));
        ok(&hutch(&sb, &["stop", "cycle"]));
    }
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
    assert_mounts_unchanged(&mounts);
}

#[test]
fn bad_names_and_misuse_are_125() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    for bad in ["../x", "", "/", "-x", "a b", &"x".repeat(64)] {
        let out = hutch(&sb, &["create", bad, "--host"]);
        assert_eq!(out.status.code(), Some(125), "{bad:?}");
        if !bad.starts_with('-') {
            let err = stderr(&out);
            assert!(err.contains("not a valid environment name"), "{err}");
        }
    }
    let out = hutch(&sb, &["create", "nosource"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--host"), "{}", stderr(&out));
    let out = hutch(&sb, &["start", "missing"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("no environment named \"missing\""),
        "{}",
        stderr(&out)
    );
    ok(&hutch(&sb, &["create", "busy", "--host"]));
    let out = hutch(&sb, &["create", "busy", "--host"]);
    assert_eq!(out.status.code(), Some(125));
    ok(&hutch(&sb, &["start", "busy"]));
    let out = hutch(&sb, &["rm", "busy"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("is running"), "{}", stderr(&out));
    ok(&hutch(&sb, &["rm", "-f", "busy"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

/// A tiny distribution for the test: busybox (Debian's busybox-static) and an /etc of its own.
pub(super) fn busybox_image(sb: &Sandbox) -> Option<PathBuf> {
    busybox_image_with_inittab(sb, "::respawn:/bin/sleep 100000\n")
}

/// The busybox image, with `inittab` for its init.
pub(super) fn busybox_image_with_inittab(sb: &Sandbox, inittab: &str) -> Option<PathBuf> {
    busybox_image_with(sb, inittab, "../bin/busybox", &[])
}

/// The busybox image with `inittab`, /sbin/init linked to `init`, and `files` (path, text;
/// their directories must exist).
pub(super) fn busybox_image_with(
    sb: &Sandbox,
    inittab: &str,
    init: &str,
    files: &[(&str, &str)],
) -> Option<PathBuf> {
    let busybox = std::path::Path::new("/bin/busybox");
    if !busybox.exists() {
        assert!(!super::harness::strict(), "install busybox-static");
        eprintln!("skipping: no /bin/busybox (apt install busybox-static)");
        return None;
    }
    let path = sb.path().join("busybox.tar");
    let mut tar = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let header = |path: &str, mode: u32, kind: tar::EntryType, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_mode(mode);
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    for dir in [
        "bin",
        "sbin",
        "etc",
        "root",
        "home",
        "tmp",
        "proc",
        "dev",
        "run",
        "lib",
        "lib/systemd",
    ] {
        let mut h = header(dir, 0o755, tar::EntryType::Directory, 0);
        tar.append_data(&mut h, dir, std::io::empty()).unwrap();
    }
    let data = std::fs::read(busybox).unwrap();
    let mut h = header(
        "bin/busybox",
        0o755,
        tar::EntryType::Regular,
        data.len() as u64,
    );
    tar.append_data(&mut h, "bin/busybox", &data[..]).unwrap();
    for applet in [
        "sh", "id", "ls", "cat", "mkdir", "chown", "stat", "reboot", "poweroff", "hostname",
        "sleep", "mkfifo", "rm", "ln", "truncate", "grep", "tr", "touch", "cut", "test",
    ] {
        let mut h = header(&format!("bin/{applet}"), 0o777, tar::EntryType::Symlink, 0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    // busybox's init, for --init system: one service that stays up.
    let mut h = header("sbin/init", 0o777, tar::EntryType::Symlink, 0);
    tar.append_link(&mut h, "sbin/init", init).unwrap();
    for &(file, text) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        ("etc/inittab", inittab),
    ]
    .iter()
    .chain(files)
    {
        let mut h = header(file, 0o644, tar::EntryType::Regular, text.len() as u64);
        tar.append_data(&mut h, file, text.as_bytes()).unwrap();
    }
    tar.finish().unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    Some(path)
}

/// The first id of the test user's subordinate uid range, if it has one.
pub(super) fn subuid_start(sb: &Sandbox) -> Option<u32> {
    std::fs::read_to_string("/etc/subuid")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let owner = f.next()?;
            (owner == sb.launcher.name || owner == sb.launcher.uid.to_string())
                .then(|| f.next()?.parse().ok())?
        })
}

#[test]
fn an_environment_from_an_image_keeps_owners_and_reboots() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image(&sb) else {
        return;
    };
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(
        &sb,
        &["create", "deb", "--image", "bb", "--net", "none"],
    ));
    ok(&hutch(&sb, &["start", "deb"]));
    let out = ok(&hutch(
        &sb,
        &[
            "exec",
            "deb",
            "--",
            "sh",
            "-c",
            "id -u; hostname; echo kept > /root/state",
        ],
    ));
    assert_eq!(out, "0\ndeb\n", "root inside, named after the environment");
    if let Some(start) = subuid_start(&sb) {
        ok(&hutch(
            &sb,
            &[
                "exec",
                "deb",
                "--",
                "sh",
                "-c",
                "mkdir /home/bob && chown 1000:1000 /home/bob",
            ],
        ));
        let upper = sb.path().join("state/data/envs/deb/upper/home/bob");
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&upper).unwrap();
        assert_eq!(
            meta.uid(),
            start + 999,
            "uid 1000 inside is a subordinate id outside"
        );
        assert_eq!(
            ok(&hutch(
                &sb,
                &["exec", "deb", "--", "stat", "-c", "%u", "/home/bob"]
            )),
            "1000\n"
        );
    } else {
        assert!(
            !super::harness::strict(),
            "the test user needs a /etc/subuid range"
        );
    }
    // A user of the environment's own (uid 1000 needs the ranges), and a login as that user.
    if subuid_start(&sb).is_some() {
        let add_bob = "echo bob:x:1000:1000::/home/bob:/bin/sh >> /etc/passwd && mkdir -p /home/bob && chown 1000:1000 /home/bob";
        ok(&hutch(&sb, &["exec", "deb", "--", "sh", "-c", add_bob]));
        let root = sb.path().join("state");
        let mut login = sb.hutch(["--root".as_ref(), root.as_os_str()]);
        login
            .args(["enter", "deb", "--user", "bob"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = login.spawn().unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            b"id -u; pwd; touch /etc/nope 2>/dev/null || echo denied\n",
        )
        .unwrap();
        assert_eq!(
            ok(&child.wait_with_output().unwrap()),
            "1000\n/home/bob\ndenied\n"
        );
        // On a terminal, the pty made inside is bob's, as login(1) would make it.
        let command = format!(
            "{} --root {} enter deb --user bob",
            sb.launcher.binary.display(),
            root.display()
        );
        let mut on_terminal = sb.launcher.program("script", sb.path());
        on_terminal
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = on_terminal.spawn().expect("script(1) from util-linux");
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            b"echo owner=$(stat -c %u $(tty)); exit\n",
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("owner=1000"), "{text:?}{}", stderr(&out));
        let out = hutch(&sb, &["enter", "deb", "--user", "nobody"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(
            stderr(&out).contains("no user \"nobody\""),
            "{}",
            stderr(&out)
        );
    }
    // The image is in use.
    let out = hutch(&sb, &["image", "rm", "bb"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    // reboot -f inside restarts on the same state; poweroff -f stops.
    let before = state(&sb, "deb");
    let _ = hutch(&sb, &["exec", "deb", "--", "reboot", "-f"]);
    assert_restarted(&sb, "deb", &before, 10);
    assert_eq!(
        ok(&hutch(&sb, &["exec", "deb", "--", "cat", "/root/state"])),
        "kept\n"
    );
    let _ = hutch(&sb, &["exec", "deb", "--", "poweroff", "-f"]);
    assert!(
        eventually(10, || state(&sb, "deb")["status"] == "stopped"),
        "{}",
        state(&sb, "deb")
    );
    ok(&hutch(&sb, &["rm", "deb"]));
    ok(&hutch(&sb, &["image", "rm", "bb"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

/// busybox's inittab with actions that leave marks on the console at boot and at shutdown.
const MARKING_INITTAB: &str = "::sysinit:/bin/sh -c 'echo hutch-test: sysinit ran in $container'\n\
    ::respawn:/bin/sleep 100000\n\
    ::shutdown:/bin/busybox echo hutch-test: shutdown ran\n";

/// How often `what` is in the environment's console log.
fn console_count(sb: &Sandbox, name: &str, what: &str) -> usize {
    let log = sb
        .path()
        .join("state/data/envs")
        .join(name)
        .join("console.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(what)
        .count()
}

#[test]
fn an_image_can_boot_its_own_init() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image_with_inittab(&sb, MARKING_INITTAB) else {
        return;
    };
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    let out = hutch(&sb, &["create", "h", "--host", "--init", "system"]);
    assert_eq!(out.status.code(), Some(125), "--init system needs an image");
    ok(&hutch(
        &sb,
        &[
            "create", "sys", "--image", "bb", "--init", "system", "--net", "none",
        ],
    ));
    ok(&hutch(&sb, &["start", "sys"]));
    assert_eq!(
        ok(&hutch(&sb, &["exec", "sys", "--", "cat", "/proc/1/comm"])),
        "init\n"
    );
    assert!(eventually(10, || console_count(&sb, "sys", "sysinit ran") == 1));
    // A machine of its own: `container=hutch` for its init, its own machine id, /run/lock,
    // and a read-only sysfs of its own network namespace.
    assert_eq!(console_count(&sb, "sys", "sysinit ran in hutch"), 1);
    let machine = "cat /etc/machine-id; \
                   grep -E ' /(sys|run/lock) ' /proc/mounts | cut -d' ' -f2,3,4 | cut -d, -f1; \
                   ls /sys/class/net; stat -c %a /run/lock; \
                   touch /sys/hutch 2>&1 | grep -o 'Read-only file system'; \
                   stat -c '%u %a' /etc/machine-id; ls /sys/fs/cgroup";
    let id = std::fs::read_to_string(sb.path().join("state/data/envs/sys/machine-id")).unwrap();
    assert!(
        id.len() == 33 && id.trim_end().bytes().all(|b| b.is_ascii_hexdigit()),
        "{id:?}"
    );
    assert_eq!(
        ok(&hutch(&sb, &["exec", "sys", "--", "sh", "-c", machine])),
        format!(
            "{id}/run/lock tmpfs rw\n/sys sysfs ro\nlo\n1777\n\
             Read-only file system\n0 644\n"
        )
    );
    ok(&hutch(
        &sb,
        &["exec", "sys", "--", "sh", "-c", "echo kept > /root/state"],
    ));
    // busybox's `reboot` asks init, which runs its shutdown actions and calls reboot(2): the
    // environment comes back on the same state.
    let before = state(&sb, "sys");
    // The shutdown ends every process, `reboot` itself included: its own status says nothing.
    let _ = hutch(&sb, &["exec", "sys", "--", "reboot"]);
    assert_restarted(&sb, "sys", &before, 15);
    assert_eq!(console_count(&sb, "sys", "shutdown ran"), 1);
    assert!(eventually(10, || console_count(&sb, "sys", "sysinit ran") == 2));
    assert_eq!(
        ok(&hutch(
            &sb,
            &["exec", "sys", "--", "cat", "/root/state", "/etc/machine-id"]
        )),
        format!("kept\n{id}"),
        "the same state and machine id after a reboot"
    );
    // `hutch restart` asks busybox for its reboot (SIGTERM): a clean one too.
    let before = state(&sb, "sys");
    ok(&hutch(&sb, &["restart", "sys"]));
    assert_restarted(&sb, "sys", &before, 15);
    assert_eq!(console_count(&sb, "sys", "shutdown ran"), 2);
    // `hutch stop` asks for busybox's poweroff (SIGUSR2): the shutdown actions run and init
    // powers off, well before the grace time would have it killed.
    let asked = std::time::Instant::now();
    ok(&hutch(&sb, &["stop", "sys", "--time", "10"]));
    let took = asked.elapsed();
    assert_eq!(state(&sb, "sys")["status"], "stopped");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert_eq!(console_count(&sb, "sys", "shutdown ran"), 3);
    assert_eq!(
        console_count(&sb, "sys", "asking PID 1 (busybox) to stop with SIGUSR2"),
        1
    );
    assert_eq!(
        console_count(&sb, "sys", "stopped (PID 1 was killed by SIGINT)"),
        1,
        "power off, not SIGKILL"
    );
    // `poweroff` inside stops it for good.
    ok(&hutch(&sb, &["start", "sys"]));
    let _ = hutch(&sb, &["exec", "sys", "--", "poweroff"]);
    assert!(
        eventually(10, || state(&sb, "sys")["status"] == "stopped"),
        "{}",
        state(&sb, "sys")
    );
    assert_eq!(console_count(&sb, "sys", "shutdown ran"), 4);
    assert_eq!(
        console_count(&sb, "sys", "stopped (PID 1 was killed by SIGINT)"),
        2
    );
    // env.toml's stop_signal overrides the init's own: SIGUSR1 is busybox's halt.
    let definition = sb.path().join("state/data/envs/sys/env.toml");
    let text = std::fs::read_to_string(&definition).unwrap();
    std::fs::write(&definition, format!("stop_signal = \"SIGUSR1\"\n{text}")).unwrap();
    ok(&hutch(&sb, &["start", "sys"]));
    ok(&hutch(&sb, &["stop", "sys"]));
    assert_eq!(
        console_count(&sb, "sys", "asking PID 1 (busybox) to stop with SIGUSR1"),
        1
    );
    assert_eq!(console_count(&sb, "sys", "shutdown ran"), 5);
    std::fs::write(&definition, format!("stop_signal = \"SIGNOPE\"\n{text}")).unwrap();
    let out = hutch(&sb, &["start", "sys"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("stop_signal = \"SIGNOPE\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    ok(&hutch(&sb, &["rm", "sys"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

/// An init that says when it has booted (systemd's sd_notify; here busybox's init, told to be
/// waited for in env.toml, with the test speaking for it): `hutch start` returns when it has,
/// `hutch status` says `booting` until then, and one that never does is stopped as failed.
#[test]
fn start_waits_for_an_init_that_reports_readiness() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image_with_inittab(&sb, MARKING_INITTAB) else {
        return;
    };
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(
        &sb,
        &[
            "create", "nt", "--image", "bb", "--init", "system", "--net", "none",
        ],
    ));
    let definition = sb.path().join("state/data/envs/nt/env.toml");
    let text = std::fs::read_to_string(&definition).unwrap();
    std::fs::write(&definition, format!("ready = \"notify\"\n{text}")).unwrap();
    let root = sb.path().join("state");
    let mut start = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    let mut start = start
        .args(["start", "nt"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(10, || state(&sb, "nt")["status"] == "booting"),
        "{}",
        state(&sb, "nt")
    );
    // The socket is there inside, where $NOTIFY_SOCKET says.
    assert_eq!(
        ok(&hutch(
            &sb,
            &[
                "exec",
                "nt",
                "--",
                "sh",
                "-c",
                "test -S $NOTIFY_SOCKET && echo $NOTIFY_SOCKET"
            ]
        )),
        "/run/host/notify\n"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        start.try_wait().unwrap(),
        None,
        "start waits while it boots"
    );
    let socket = sb.path().join("state/data/envs/nt/run/notify");
    let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
    sender
        .send_to(b"STATUS=Startup finished in 1s.\nREADY=1\n", &socket)
        .unwrap();
    let started = start.wait_with_output().unwrap();
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    let now = state(&sb, "nt");
    assert_eq!(now["status"], "running", "{now}");
    assert_eq!(now["init_status"], "Startup finished in 1s.", "{now}");
    assert!(ok(&hutch(&sb, &["status", "nt"])).contains("init says: Startup finished in 1s."));
    sender.send_to(b"STOPPING=1", &socket).unwrap();
    assert!(eventually(5, || state(&sb, "nt")["status"] == "stopping"));
    ok(&hutch(&sb, &["stop", "nt"]));
    // An init that never says so is taken for frozen: killed, and start fails with why.
    std::fs::write(
        &definition,
        format!("ready = \"notify\"\nboot_timeout = 2\n{text}"),
    )
    .unwrap();
    let out = hutch(&sb, &["start", "nt"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not report that it had booted (READY=1) within 2 s"),
        "{}",
        stderr(&out)
    );
    let now = state(&sb, "nt");
    assert_eq!(now["status"], "failed", "{now}");
    assert!(
        now["last_stop"].as_str().unwrap().contains("READY=1"),
        "{now}"
    );
    // Stopped while it boots: the waiting start says so, and nothing failed.
    std::fs::write(&definition, format!("ready = \"notify\"\n{text}")).unwrap();
    let start = sb
        .hutch(["--root".as_ref(), root.as_os_str()])
        .args(["start", "nt"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(eventually(10, || state(&sb, "nt")["status"] == "booting"));
    ok(&hutch(&sb, &["stop", "nt"]));
    let started = start.wait_with_output().unwrap();
    assert_eq!(started.status.code(), Some(125), "{}", stderr(&started));
    assert!(
        stderr(&started).contains("it was stopped before its init had booted"),
        "{}",
        stderr(&started)
    );
    assert_eq!(state(&sb, "nt")["status"], "stopped");
    ok(&hutch(&sb, &["rm", "nt"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}

/// systemd mounts a cgroup2 hierarchy of its own at boot, which a user namespace can have only
/// where cgroup v2 is the host's hierarchy: elsewhere (cgroup v1, hybrid) creating an
/// environment that boots it is refused with the reason, rather than left to freeze.
#[test]
fn systemd_is_refused_where_it_would_freeze() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image_with(
        &sb,
        "",
        "../lib/systemd/systemd",
        &[("lib/systemd/systemd", "#!/bin/sh\nexec sleep 100000\n")],
    ) else {
        return;
    };
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "sd"],
    ));
    let unified = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    let out = hutch(
        &sb,
        &[
            "create", "sd", "--image", "sd", "--init", "system", "--net", "none",
        ],
    );
    if unified {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        ok(&hutch(&sb, &["rm", "sd"]));
        return;
    }
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("the image's init is systemd, which needs a cgroup v2 hierarchy"),
        "{err}"
    );
    assert!(err.contains("Freezing execution"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("--init hutch"),
        "{err}"
    );
    let ls = ok(&hutch(&sb, &["ls", "--json"]));
    assert_eq!(ls.trim(), "[]", "nothing half made");
    // With hutch's init the image's files are there to use.
    ok(&hutch(
        &sb,
        &["create", "sd", "--image", "sd", "--net", "none"],
    ));
    // Switched to its own init by hand, it is refused at start, the environment kept.
    let definition = sb.path().join("state/data/envs/sd/env.toml");
    let text = std::fs::read_to_string(&definition).unwrap();
    std::fs::write(&definition, format!("init = \"system\"\n{text}")).unwrap();
    let out = hutch(&sb, &["start", "sd"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needs a cgroup v2 hierarchy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state(&sb, "sd")["status"], "stopped");
    ok(&hutch(&sb, &["rm", "sd"]));
}

#[test]
fn logs_show_escape_sequences_on_a_terminal_instead_of_obeying_them() {
    let Some(sb) = sandbox() else { return };
    ok(&hutch(&sb, &["create", "noisy", "--host"]));
    // What a process inside could print to the console: a new window title, a cleared screen,
    // a carriage return over the line.
    let printed = "booted\n\u{1b}]0;pwned\u{7}\u{1b}[2J\rfake$ \n";
    sb.write("state/data/envs/noisy/console.log", printed);
    // Into a pipe or a file: byte for byte.
    assert_eq!(ok(&hutch(&sb, &["logs", "noisy"])), printed);
    // On a terminal (script(1) gives hutch one): visible, not obeyed.
    let command = format!(
        "{} --root {} logs noisy",
        sb.launcher.binary.display(),
        sb.path().join("state").display()
    );
    let out = sb
        .launcher
        .program("script", sb.path())
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("booted\n\\x1b]0;pwned\\x07\\x1b[2J\\x0dfake$ \n"),
        "{text:?}"
    );
    assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
}

/// Debian bookworm with sysvinit-core (built by `tests/vm/rootfs`): `hutch stop` has it run its
/// runlevel-0 scripts (`telinit 0`: its inittab has no power entry that halts) within 10 s, and
/// `hutch restart` its runlevel 6 (SIGINT: its ctrlaltdel entry reboots), on the same state.
#[test]
fn sysvinit_runs_its_shutdown_scripts() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = super::vm_inits::rootfs("sysvinit") else {
        return;
    };
    ok(&hutch(
        &sb,
        &[
            "image",
            "import",
            tarball.to_str().unwrap(),
            "--name",
            "sysv",
        ],
    ));
    ok(&hutch(
        &sb,
        &[
            "create", "sv", "--image", "sysv", "--init", "system", "--net", "none",
        ],
    ));
    ok(&hutch(&sb, &["start", "sv"]));
    assert!(
        eventually(30, || console_count(
            &sb,
            "sv",
            "INIT: Entering runlevel: 2"
        ) == 1),
        "{}",
        ok(&hutch(&sb, &["logs", "sv"]))
    );
    assert_eq!(ok(&hutch(&sb, &["exec", "sv", "--", "runlevel"])), "N 2\n");
    ok(&hutch(
        &sb,
        &["exec", "sv", "--", "sh", "-c", "echo kept > /root/state"],
    ));
    let before = state(&sb, "sv");
    ok(&hutch(&sb, &["restart", "sv"]));
    assert_restarted(&sb, "sv", &before, 15);
    assert_eq!(console_count(&sb, "sv", "Will now restart."), 1);
    assert!(eventually(30, || console_count(
        &sb,
        "sv",
        "INIT: Entering runlevel: 2"
    ) == 2));
    assert_eq!(
        ok(&hutch(&sb, &["exec", "sv", "--", "cat", "/root/state"])),
        "kept\n"
    );
    let started = std::time::Instant::now();
    ok(&hutch(&sb, &["stop", "sv"]));
    let took = started.elapsed();
    let log = ok(&hutch(&sb, &["logs", "sv"]));
    assert!(took < std::time::Duration::from_secs(10), "{took:?}: {log}");
    let shutdown = &log[log.rfind("asking PID 1 (sysvinit) to stop").expect(&log)..];
    for line in [
        "`telinit 0` inside",
        "Using makefile-style concurrent boot in runlevel 0.",
        "Asking all remaining processes to terminate",
        "Will now halt.",
        "environment sv stopped (PID 1 was killed by SIGINT)",
    ] {
        assert!(shutdown.contains(line), "no {line:?} in: {shutdown}");
    }
    assert_eq!(state(&sb, "sv")["status"], "stopped");
    ok(&hutch(&sb, &["rm", "sv"]));
    assert!(
        eventually(5, || leftovers(&sb) == (vec![], 0)),
        "left behind: {:?}",
        leftovers(&sb)
    );
}
