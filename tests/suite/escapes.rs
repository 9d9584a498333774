//! Escape attempts from inside the default sandbox. Each asserts the specific failure, and the
//! system-call ones use arguments that would fail differently (EINVAL, EFAULT) or succeed
//! without the seccomp filter, so EPERM shows the filter stopped them.

use std::io::Write;
use std::os::unix::net::UnixListener;

use syscalls::Sysno;

use super::harness::{ok, sandbox, stderr, stdout, strict, Sandbox, WorkDir};

/// A test this host cannot run: say why, or fail under `HUTCH_TEST_STRICT=1`.
fn unavailable(why: &str) {
    assert!(!strict(), "HUTCH_TEST_STRICT=1 and {why}");
    eprintln!("skipping: {why}");
}

/// Python run inside the sandbox with helpers: `sc(nr, *args)` makes a raw system call and
/// prints `OK` or the errno name; `attempt(fn)` does the same for a Python call.
const PRELUDE: &str = r#"
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return "OK" if r != -1 else errno.errorcode[ctypes.get_errno()]
def os_error():
    raise OSError(ctypes.get_errno(), "")
def attempt(fn):
    try:
        fn()
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
"#;

fn python(sb: &Sandbox, code: &str) -> std::process::Output {
    sb.run(&["--", "python3", "-c", &format!("{PRELUDE}\n{code}")])
}

/// Run `code` (which prints one result per line) and return the lines.
fn results(sb: &Sandbox, code: &str) -> Vec<String> {
    let out = python(sb, code);
    ok(&out).lines().map(str::to_owned).collect()
}

#[test]
fn the_payload_has_no_new_privs_seccomp_and_no_capabilities() {
    let Some(sb) = sandbox() else { return };
    let status = ok(&sb.run(&["--", "cat", "/proc/self/status"]));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_owned()
    };
    assert_eq!(field("NoNewPrivs"), "1");
    assert_eq!(field("Seccomp"), "2");
    for caps in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(field(caps), "0000000000000000", "{caps}");
    }
}

#[test]
fn root_inside_keeps_only_the_distro_capabilities() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.run(&["--map-root", "--", "grep", "CapEff", "/proc/self/status"]));
    let mask = u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap();
    // CAP_SYS_ADMIN (21), CAP_NET_ADMIN (12), CAP_SYS_PTRACE (19), CAP_SYS_MODULE (16), CAP_MKNOD (27)
    for cap in [21, 12, 19, 16, 27] {
        assert_eq!(mask & (1 << cap), 0, "capability {cap} kept");
    }
    assert_ne!(mask & 1, 0, "CAP_CHOWN missing");
}

#[test]
fn a_profiles_own_denials_hold_for_the_payload_and_not_for_hutchs_set_up() {
    let Some(sb) = sandbox() else { return };
    // hutch's own set-up calls prctl (capabilities, no_new_privs) after its mounts: with a
    // profile that denies it, the filter comes last, as it always did; with only the default
    // denials it may come earlier, beside the mounts. Either way it holds for the payload.
    sb.write(
        "strict.toml",
        "extends = \"default\"\n[seccomp]\ndeny = [\"prctl\", \"uname\"]\n",
    );
    // prctl(PR_SET_NO_NEW_PRIVS, 0) is EINVAL unfiltered: no_new_privs cannot be cleared.
    let code = format!(
        "{PRELUDE}\nprint(sc({}, 38, 0, 0, 0, 0))\nprint(attempt(lambda: os.uname()))",
        Sysno::prctl.id()
    );
    let strict = sb.run(&["--profile", "./strict.toml", "--", "python3", "-c", &code]);
    assert_eq!(ok(&strict).lines().collect::<Vec<_>>(), ["EPERM", "EPERM"]);
    let default = sb.run(&["--", "python3", "-c", &code]);
    assert_eq!(ok(&default).lines().collect::<Vec<_>>(), ["EINVAL", "OK"]);
}

#[test]
fn denied_system_calls_fail_with_eperm() {
    let Some(sb) = sandbox() else { return };
    let calls: &[(&str, Sysno, &str)] = &[
        // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) succeeds unfiltered.
        ("keyctl", Sysno::keyctl, "0, -3, 0"),
        ("add_key", Sysno::add_key, "0, 0, 0, 0, 0"),
        ("request_key", Sysno::request_key, "0, 0, 0, 0"),
        // An unknown bpf command is EINVAL unfiltered.
        ("bpf", Sysno::bpf, "9999, 0, 0"),
        ("perf_event_open", Sysno::perf_event_open, "0, 0, -1, -1, 0"),
        ("userfaultfd", Sysno::userfaultfd, "0"),
        ("io_uring_setup", Sysno::io_uring_setup, "1, 0"),
        ("io_uring_enter", Sysno::io_uring_enter, "-1, 0, 0, 0, 0, 0"),
        ("io_uring_register", Sysno::io_uring_register, "-1, 0, 0, 0"),
        (
            "name_to_handle_at",
            Sysno::name_to_handle_at,
            "-100, 0, 0, 0, 0",
        ),
        ("open_by_handle_at", Sysno::open_by_handle_at, "-1, 0, 0"),
        ("kexec_load", Sysno::kexec_load, "0, 0, 0, 0"),
        ("kexec_file_load", Sysno::kexec_file_load, "-1, -1, 0, 0, 0"),
        ("init_module", Sysno::init_module, "0, 0, 0"),
        ("finit_module", Sysno::finit_module, "-1, 0, 0"),
        ("delete_module", Sysno::delete_module, "0, 0"),
        ("swapon", Sysno::swapon, "0, 0"),
        ("swapoff", Sysno::swapoff, "0"),
        ("acct", Sysno::acct, "0"),
        ("settimeofday", Sysno::settimeofday, "0, 0"),
        ("clock_settime", Sysno::clock_settime, "0, 0"),
        ("fanotify_init", Sysno::fanotify_init, "0, 0"),
        ("quotactl", Sysno::quotactl, "0, 0, 0, 0"),
        ("lookup_dcookie", Sysno::lookup_dcookie, "0, 0, 0"),
        // A nested user namespace succeeds unfiltered on this host (the test just made one).
        ("unshare(CLONE_NEWUSER)", Sysno::unshare, "0x10000000"),
    ];
    #[cfg(target_arch = "x86_64")]
    let calls = [
        calls,
        &[
            ("iopl", Sysno::iopl, "3"),
            ("ioperm", Sysno::ioperm, "0, 1, 1"),
        ],
    ]
    .concat();
    let code: String = calls
        .iter()
        .map(|(_, nr, args)| format!("print(sc({}, {args}))\n", nr.id()))
        .collect();
    let got = results(&sb, &code);
    for ((name, _, _), result) in calls.iter().zip(&got) {
        assert_eq!(result, "EPERM", "{name} was not stopped by the filter");
    }
    assert_eq!(got.len(), calls.len());
}

#[test]
fn socket_families_the_profile_does_not_allow_are_denied() {
    let Some(sb) = sandbox() else { return };
    let code = "print(attempt(lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)))\n\
                print(attempt(lambda: socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET)))\n\
                print(attempt(lambda: socket.socket(socket.AF_KEY, socket.SOCK_RAW, 2)))\n\
                print(attempt(lambda: socket.socketpair(socket.AF_UNIX)))\n\
                print(attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)))\n\
                print(attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)))";
    // vsock reaches past the network namespace to the host or hypervisor.
    assert_eq!(
        results(&sb, code),
        ["EPERM", "EPERM", "EPERM", "OK", "OK", "OK"]
    );
    // The profile key lets vsock through to the kernel, which answers for itself: a socket, or
    // EAFNOSUPPORT where the host has no vsock transport. AF_ALG stays denied.
    sb.write(
        "vsock.toml",
        "extends = \"default\"\n[seccomp]\nallow_socket_families = [\"vsock\"]\n",
    );
    let out = sb.run(&[
        "--profile",
        "./vsock.toml",
        "--",
        "python3",
        "-c",
        &format!(
            "{PRELUDE}\nprint(attempt(lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)))\n\
             print(attempt(lambda: socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET)))"
        ),
    ]);
    let got = ok(&out);
    let lines: Vec<&str> = got.lines().collect();
    assert!(
        matches!(lines[0], "OK" | "EAFNOSUPPORT"),
        "vsock with the profile key: {got}"
    );
    assert_eq!(lines[1], "EPERM");
    let explain = ok(&sb.run(&["--profile", "./vsock.toml", "--explain", "--", "true"]));
    assert!(
        explain.contains("allowed by the profile: socket family vsock"),
        "{explain}"
    );
}

#[test]
fn personality_kcmp_and_the_new_mount_calls_are_denied() {
    let Some(sb) = sandbox() else { return };
    // Each of these succeeds, or fails for its arguments (EINVAL, EFAULT), without the filter.
    let code = format!(
        "print(sc({personality}, 0x0400000))\n\
         print(sc({personality}, 0x0100000))\n\
         print(sc({kcmp}, os.getpid(), os.getpid(), 0, 0, 0))\n\
         print(sc({mount_setattr}, -1, 0, 0, 0, 0))\n\
         print(sc({listmount}, 0, 0, 0, 0))\n\
         print(sc({statmount}, 0, 0, 0, 0))\n\
         print(sc({personality}, 0xffffffff))\n\
         print(sc({personality}, 0x0040000))",
        personality = Sysno::personality.id(),
        kcmp = Sysno::kcmp.id(),
        mount_setattr = Sysno::mount_setattr.id(),
        listmount = Sysno::listmount.id(),
        statmount = Sysno::statmount.id(),
    );
    assert_eq!(
        results(&sb, &code),
        [
            "EPERM",  // READ_IMPLIES_EXEC
            "EPERM",  // MMAP_PAGE_ZERO
            "EPERM",  // kcmp
            "EPERM",  // mount_setattr
            "ENOSYS", // listmount: programs fall back to /proc/self/mountinfo
            "ENOSYS", // statmount
            "OK",     // the query changes nothing
            "OK",     // ADDR_NO_RANDOMIZE, as gdb and setarch -R ask for
        ]
    );
}

#[test]
fn clone_with_a_new_user_namespace_is_denied_and_clone3_falls_back() {
    let Some(sb) = sandbox() else { return };
    let code = format!(
        "r = libc.syscall(ctypes.c_long({clone}), ctypes.c_long(0x10000000 | 17), 0, 0, 0, 0)\n\
         if r == 0: os._exit(0)\n\
         print('OK' if r != -1 else errno.errorcode[ctypes.get_errno()])\n\
         print(sc({clone3}, 0, 0))\n\
         print(attempt(lambda: (lambda pid: os._exit(0) if pid == 0 else os.waitpid(pid, 0))(os.fork())))",
        clone = Sysno::clone.id(),
        clone3 = Sysno::clone3.id()
    );
    assert_eq!(results(&sb, &code), ["EPERM", "ENOSYS", "OK"]);
    // And the tool people would use:
    let out = sb.run(&["--", "unshare", "--user", "true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn terminal_injection_is_denied() {
    let Some(sb) = sandbox() else { return };
    // Make a pty the controlling terminal, where TIOCSTI would work unfiltered; try it also with
    // the request's high bits set, which a 64-bit comparison would miss (CVE-2019-10063).
    let code = r#"
import fcntl, termios
master, slave = os.openpty()
os.setsid()
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
c = ctypes.c_char(b"x")
for request in (0x5412, 0x100005412):
    r = libc.ioctl(slave, ctypes.c_ulong(request), ctypes.byref(c))
    print("OK" if r != -1 else errno.errorcode[ctypes.get_errno()])
sub = ctypes.c_char(b"\x02")
r = libc.ioctl(slave, ctypes.c_ulong(0x541C), ctypes.byref(sub))
print("OK" if r != -1 else errno.errorcode[ctypes.get_errno()])
"#;
    assert_eq!(results(&sb, code), ["EPERM", "EPERM", "EPERM"]);
}

#[test]
fn x32_system_calls_kill_the_process() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let Some(sb) = sandbox() else { return };
    // getpid through the x32 ABI: the filter kills instead of answering.
    let out = python(&sb, "sc(0x40000000 | 39)\nprint('survived')");
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGSYS),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("survived"));
}

#[test]
fn privileged_operations_fail() {
    let Some(sb) = sandbox() else { return };
    let code = r#"
print(attempt(lambda: os.chroot("/tmp")))
print(attempt(lambda: os.mknod("/tmp/null", 0o20666, os.makedev(1, 3))))
print(attempt(lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 or os_error()))
print(attempt(lambda: os.setuid(0)))
print(attempt(lambda: socket.sethostname("x")))
"#;
    // chroot, mknod, mount(2), sethostname: no capabilities left; uid 0 does not even exist
    // in the sandbox's user namespace (EINVAL).
    assert_eq!(
        results(&sb, code),
        ["EPERM", "EPERM", "EPERM", "EINVAL", "EPERM"]
    );
}

#[test]
fn host_files_cannot_be_written() {
    let Some(sb) = sandbox() else { return };
    let code = r#"
for path in ("/usr/hutch-escape", "/etc/passwd", "/sys/kernel/hutch-escape", "/hutch-escape"):
    print(attempt(lambda: open(path, "w")))
for path in ("/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"):
    print(attempt(lambda: open(path, "w")))
print(attempt(lambda: open("/proc/kcore", "rb")))
"#;
    // Kernels built without magic SysRq or /proc/kcore have nothing there to reach.
    let root_only = |path: &str| {
        if std::path::Path::new(path).exists() {
            "EACCES"
        } else {
            "ENOENT"
        }
    };
    let expected = [
        "EROFS",
        "EROFS",
        "EROFS",
        "EROFS",
        "EACCES",
        "EACCES",
        root_only("/proc/sysrq-trigger"),
        root_only("/proc/kcore"),
    ];
    assert_eq!(results(&sb, code), expected);
}

#[test]
fn init_and_host_processes_are_out_of_reach() {
    let Some(sb) = sandbox() else { return };
    let host_pid = std::process::id();
    let code = format!(
        "print(attempt(lambda: os.kill({host_pid}, 0)))\n\
         print(sc({ptrace}, 16, {host_pid}, 0, 0))\n\
         print(sc({ptrace}, 16, 1, 0, 0))\n\
         print(attempt(lambda: os.listdir('/proc/1/root')))\n\
         print(attempt(lambda: open('/proc/1/environ').read()))",
        ptrace = Sysno::ptrace.id()
    );
    // Host pids do not exist in the sandbox's pid namespace; init is not dumpable.
    assert_eq!(
        results(&sb, &code),
        ["ESRCH", "ESRCH", "EPERM", "EACCES", "EACCES"]
    );
}

#[test]
fn host_network_services_are_unreachable() {
    let Some(sb) = sandbox() else { return };
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let name = format!("hutch-test-{}", std::process::id());
    let abstract_addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .unwrap();
    let unix = UnixListener::bind_addr(&abstract_addr).unwrap();
    let code = format!(
        "s = socket.socket()\n\
         print(attempt(lambda: s.connect(('127.0.0.1', {port}))))\n\
         u = socket.socket(socket.AF_UNIX)\n\
         print(attempt(lambda: u.connect('\\0{name}')))"
    );
    assert_eq!(results(&sb, &code), ["ECONNREFUSED", "ECONNREFUSED"]);
    drop((tcp, unix));
}

#[test]
fn secrets_in_the_host_home_and_runtime_dir_are_invisible() {
    let Some(sb) = sandbox() else { return };
    let home = &sb.launcher.home;
    let Ok(secret) = tempfile::Builder::new()
        .prefix(".hutch-test-secret-")
        .tempfile_in(home)
    else {
        panic!("cannot create a test file in {}", home.display());
    };
    let runtime_dir = format!("/run/user/{}", sb.launcher.uid);
    let code = format!(
        "print(attempt(lambda: open('{}').read()))\nprint(attempt(lambda: os.listdir('{runtime_dir}')))",
        secret.path().display()
    );
    assert_eq!(results(&sb, &code), ["ENOENT", "ENOENT"]);
}

#[test]
fn setuid_binaries_gain_nothing() {
    let Some(sb) = sandbox() else { return };
    if !nix::unistd::Uid::effective().is_root() {
        return unavailable(
            "the tests do not run as root, which alone can make a setuid-root binary to try",
        );
    }
    let id = sb.path().join("setuid-id");
    std::fs::copy("/usr/bin/id", &id).unwrap();
    std::fs::set_permissions(&id, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    let out = ok(&sb.run(&["--", "./setuid-id", "-u"]));
    assert_eq!(out.trim(), sb.launcher.uid.to_string());
}

#[test]
fn interactive_shell_keeps_job_control() {
    let Some(sb) = sandbox() else { return };
    // script(1) gives hutch a terminal; bash turns job control (monitor) off when it cannot
    // take the terminal's foreground.
    let command = format!(
        "{} run -- bash --norc -i -c 'sleep 0.1 & wait; set -o | grep ^monitor'",
        sb.launcher.binary.display()
    );
    let out = sb
        .launcher
        .program("script", sb.path())
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("monitor") && text.contains("on"), "{text}");
}

#[test]
fn ordinary_work_still_runs() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "hello.c",
        "#include <stdio.h>\nint main(void) { puts(\"built\"); return 0; }\n",
    );
    let out = ok(&sb.sh(
        "cc -o hello hello.c && ./hello && \
         python3 -c 'import json, sqlite3, subprocess, threading; print(json.dumps(subprocess.run([\"echo\", \"py\"], capture_output=True, text=True).stdout.strip()))' && \
         git init -q repo && cd repo && echo x > f && git add f && \
         git -c user.email=t@example.com -c user.name=t commit -qm first && git log --oneline | wc -l",
    ));
    assert_eq!(out, "built\n\"py\"\n1\n");
}

#[test]
fn landlock_require_works_on_this_kernel() {
    let Some(sb) = sandbox() else { return };
    let explain = ok(&sb.run(&["--explain", "--", "true"]));
    if explain.contains("NOT enforced") {
        // Older kernels: require must refuse, with the reason.
        let out = sb.run(&["--landlock", "require", "--", "true"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(
            stderr(&out).contains("--landlock require"),
            "{}",
            stderr(&out)
        );
    } else {
        ok(&sb.run(&[
            "--landlock",
            "require",
            "--",
            "sh",
            "-c",
            "echo x > f && cat f >/dev/null",
        ]));
    }
    let out = sb.run(&["--landlock", "off", "--", "true"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("Landlock is off"), "{}", stderr(&out));
    let _ = std::io::stdout().flush();
}

#[test]
fn landlock_limits_tcp_ports_on_a_shared_network() {
    let Some(sb) = sandbox() else { return };
    let Some(abi) = landlock_abi(&sb) else { return };
    if abi < 4 {
        return unavailable("this kernel's Landlock has no TCP port rules (ABI 4)");
    }
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let denied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, d) = (
        allowed.local_addr().unwrap().port(),
        denied.local_addr().unwrap().port(),
    );
    sb.write("net.toml", &format!("extends = \"default\"\n[net]\nmode = \"host\"\n[landlock]\ntcp_connect = [{a}]\ntcp_bind = []\n"));
    let code = format!(
        "print(attempt(lambda: socket.create_connection(('127.0.0.1', {a}))))\n\
         print(attempt(lambda: socket.create_connection(('127.0.0.1', {d}))))\n\
         print(attempt(lambda: socket.socket().bind(('127.0.0.1', 0))))"
    );
    let out = sb.run(&[
        "--profile",
        "./net.toml",
        "--",
        "python3",
        "-c",
        &format!("{PRELUDE}\n{code}"),
    ]);
    // The listed port connects; any other, and any bind, is refused by Landlock.
    assert_eq!(ok(&out), "OK\nEACCES\nEACCES\n");
    drop((allowed, denied));
}

#[test]
fn an_interactive_sandbox_knows_its_terminal() {
    let Some(sb) = sandbox() else { return };
    // The host's pty is not in the sandbox's devpts; hutch shows it as /dev/console, so that
    // ttyname(3) works (tty, ssh, gpg's pinentry).
    let command = format!("{} run -- tty", sb.launcher.binary.display());
    let out = sb
        .launcher
        .program("script", sb.path())
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    assert_eq!(stdout(&out).trim(), "/dev/console", "{}", stderr(&out));
    // Without a terminal there is no console.
    assert!(!ok(&sb.run(&["--", "ls", "/dev"]))
        .lines()
        .any(|l| l == "console"));
}

/// The Landlock ABI this kernel offers, per `--explain`, or `None` after saying why not (a
/// failure under `HUTCH_TEST_STRICT=1`).
fn landlock_abi(sb: &Sandbox) -> Option<u32> {
    let explain = ok(&sb.run(&["--explain", "--", "true"]));
    let abi = explain
        .split("ABI ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    if abi.is_none() {
        unavailable("this kernel has no Landlock (`--explain` names no ABI)");
    }
    abi
}

#[test]
fn explain_says_which_landlock_rules_add_nothing_and_those_paths_still_work() {
    let Some(sb) = sandbox() else { return };
    if landlock_abi(&sb).is_none() {
        return;
    }
    let plan: serde_json::Value =
        serde_json::from_str(&ok(&sb.run(&["--explain", "--json", "--", "true"]))).unwrap();
    let rules = plan["landlock"]["rules"].as_array().unwrap();
    let covered = |path: &str| {
        rules
            .iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("no rule for {path}: {rules:?}"))["covered_by"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(covered("/dev/null").as_deref(), Some("/dev"));
    assert_eq!(covered("/dev"), None);
    assert_eq!(covered("/tmp"), None);
    // What the skipped rules would have granted, /dev's rule grants: writing /dev/null,
    // reading /dev/urandom, files in /dev/shm.
    let out = sb.sh("echo x > /dev/null && head -c 4 /dev/urandom | wc -c && : > /dev/shm/f");
    assert_eq!(ok(&out).trim(), "4");
}

#[test]
fn landlock_alone_keeps_a_host_file_passed_as_stdin_read_only() {
    let Some(sb) = sandbox() else { return };
    if landlock_abi(&sb).is_none() {
        return;
    }
    // A file of the user's outside every mount the sandbox has, handed in read-only as stdin.
    // Reopening /proc/self/fd/0 reaches it through the host's own writable mount, which no
    // read-only bind covers: only Landlock (no rule grants write beneath it) stands in the way.
    let elsewhere = WorkDir::new(sb.launcher);
    let file = elsewhere.write(sb.launcher, "host-file", "original\n");
    let code = "print(attempt(lambda: open('/proc/self/fd/0', 'r+').write('pwned\\n')))";
    let attempt = |landlock: &str| {
        let out = sb
            .hutch(["run", "--landlock", landlock, "--", "python3", "-c"])
            .arg(format!("{PRELUDE}\n{code}"))
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        ok(&out).trim().to_owned()
    };
    assert_eq!(attempt("best-effort"), "EACCES");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "original\n");
    // The control: without Landlock nothing else stops it (the file is the user's own).
    assert_eq!(attempt("off"), "OK");
    // r+ writes over the start without truncating.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "pwned\nal\n");
}

#[test]
fn landlock_keeps_a_host_directory_passed_as_stdin_unwritable() {
    let Some(sb) = sandbox() else { return };
    if landlock_abi(&sb).is_none() {
        return;
    }
    // A directory of the user's outside every mount the sandbox has, handed in as stdin. What
    // is in it is reached relative to the descriptor, or by reopening /proc/self/fd/N, through
    // the host's own writable mount, which no read-only bind covers: only Landlock (no rule
    // grants writing beneath it) stands in the way. Reading is allowed: the default profile's
    // rule on `/` grants reading all the host shows, as its read-only bind of `/` does.
    let elsewhere = WorkDir::new(sb.launcher);
    let inside = elsewhere.write(sb.launcher, "file", "original\n");
    // Python will not start with a directory as stdin: the shell moves it to fd 3 first.
    let code = "print(attempt(lambda: os.open('new', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=3)))\n\
                print(attempt(lambda: os.write(os.open('file', os.O_WRONLY, dir_fd=3), b'pwned')))\n\
                print(attempt(lambda: os.mkdir('/proc/self/fd/3/made')))";
    let attempt = |landlock: &str| {
        let out = sb
            .hutch(["run", "--landlock", landlock, "--", "sh", "-c"])
            .arg(r#"exec 3<&0 </dev/null; exec python3 -c "$1""#)
            .arg("sh")
            .arg(format!("{PRELUDE}\n{code}"))
            .stdin(std::fs::File::open(elsewhere.path()).unwrap())
            .output()
            .unwrap();
        ok(&out).lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(attempt("best-effort"), ["EACCES", "EACCES", "EACCES"]);
    assert!(!elsewhere.path().join("new").exists());
    assert!(!elsewhere.path().join("made").exists());
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "original\n");
    // The control: without Landlock nothing else stops it (the directory is the user's own).
    assert_eq!(attempt("off"), ["OK", "OK", "OK"]);
    assert!(elsewhere.path().join("made").is_dir());
}

#[test]
fn landlock_scopes_keep_host_abstract_sockets_out_of_reach_on_the_host_network() {
    let Some(sb) = sandbox() else { return };
    let Some(abi) = landlock_abi(&sb) else { return };
    if abi < 6 {
        return unavailable("this kernel's Landlock has no scopes (ABI 6)");
    }
    // With --net host the host's abstract socket namespace is the sandbox's too: no mount and
    // no namespace hides a host listener, only the Landlock scope.
    let name = format!("hutch-test-scope-{}", std::process::id());
    let address =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .unwrap();
    let listener = UnixListener::bind_addr(&address).unwrap();
    let code = format!(
        "u = socket.socket(socket.AF_UNIX)\nprint(attempt(lambda: u.connect('\\0{name}')))"
    );
    let attempt = |landlock: &str| {
        let out = sb.run(&[
            "--net",
            "host",
            "--landlock",
            landlock,
            "--",
            "python3",
            "-c",
            &format!("{PRELUDE}\n{code}"),
        ]);
        ok(&out).trim().to_owned()
    };
    assert_eq!(attempt("best-effort"), "EPERM");
    assert_eq!(
        attempt("off"),
        "OK",
        "the control: reachable without Landlock"
    );
    drop(listener);
}
