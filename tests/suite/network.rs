//! `--net pasta`: ports published to the host, the host's loopback kept out (and let in on
//! request), DNS files, and pasta's lifetime — it ends with the sandbox, also when hutch is
//! killed, and comes back with an environment's restart.
//!
//! Loopback only: every listener is on 127.0.0.1 and every connection stays on this machine
//! (nothing here resolves a name through DNS or connects to the gateway with it unmapped).

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Output, Stdio};
use std::time::Duration;

use super::harness::{eventually, ok, sandbox, stderr, stdout, Running, Sandbox};

/// A sandbox launcher on a host with pasta; `None` (after saying why) without it, or a panic
/// under `HUTCH_TEST_STRICT=1`.
fn with_pasta() -> Option<Sandbox> {
    let sb = sandbox()?;
    // The PATH the harness gives hutch.
    let found = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .any(|dir| std::path::Path::new(dir).join("pasta").exists());
    if found {
        return Some(sb);
    }
    let why = "pasta is not installed (package passt)";
    if std::env::var_os("HUTCH_TEST_STRICT").is_some_and(|v| v == "1") {
        panic!("HUTCH_TEST_STRICT=1 and {why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server for inside the sandbox: `server.py tcp|udp PORT` answers every TCP connection or
/// UDP datagram, after printing "ready".
const SERVER: &str = r#"
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
if proto == "tcp":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen()
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        c.sendall(b"hello over tcp\n")
        c.close()
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(100)
        s.sendto(b"echo " + data, peer)
"#;

/// `probe.py HOST PORT`: "reached" if a TCP connection opens, else "unreachable: <error>".
const PROBE: &str = r#"
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("reached")
except OSError as e:
    print("unreachable:", e)
"#;

/// Start `hutch run ARGS` with its stdout piped and wait for its first line, "ready".
fn start_ready(sb: &Sandbox, args: &[&str]) -> Running {
    let mut cmd = sb.hutch(["run"]);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut running = Running(cmd.spawn().expect("spawn hutch"));
    let mut line = String::new();
    let out = running.0.stdout.take().unwrap();
    BufReader::new(out).read_line(&mut line).unwrap();
    if line.trim() != "ready" {
        let mut err = String::new();
        let _ = running.0.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the sandbox did not get ready: {line:?}, stderr: {err}");
    }
    running
}

/// Whether `pid` is a live process (not gone, not a zombie awaiting its reaper).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .split('\0')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Live pasta processes whose command line names the sandbox whose PID 1 is `init` (host pid).
fn pastas_for(init: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let args = cmdline(pid);
            args.first().is_some_and(|a| a.ends_with("pasta"))
                && args.last() == Some(&init.to_string())
                && alive(pid)
        })
        .collect()
}

/// The children of `parent` (host pids).
fn children(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

/// The sandbox's PID 1 (hutch's child that is not pasta) and its pasta.
fn init_and_pasta(hutch: u32) -> (u32, Vec<u32>) {
    let mut init = None;
    assert!(
        eventually(5, || {
            init = children(hutch)
                .into_iter()
                .find(|&pid| !cmdline(pid).first().is_some_and(|a| a.ends_with("pasta")));
            init.is_some()
        }),
        "no sandbox under hutch {hutch}"
    );
    let init = init.unwrap();
    (init, pastas_for(init))
}

#[test]
fn a_tcp_server_inside_is_reached_through_a_published_port() {
    let Some(sb) = with_pasta() else { return };
    sb.write("server.py", SERVER);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8000");
    let mut running = start_ready(
        &sb,
        &[
            "--net",
            "pasta",
            "-p",
            &publish,
            "--",
            "python3",
            "server.py",
            "tcp",
            "8000",
        ],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "hello over tcp\n");
    let _ = running.0.kill();
}

/// hutch waits for a pasta that held a published port: the port can be had again at once.
#[test]
fn a_published_port_is_free_again_once_hutch_returns() {
    let Some(sb) = with_pasta() else { return };
    for _ in 0..3 {
        let port = free_port();
        let publish = format!("127.0.0.1:{port}:8000");
        let out = sb.run(&["--net", "pasta", "-p", &publish, "--", "true"]);
        assert!(out.status.success(), "{}", stderr(&out));
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            panic!("port {port} is still taken after hutch returned: {e}");
        }
    }
}

#[test]
fn a_udp_server_inside_is_reached_through_a_published_port() {
    let Some(sb) = with_pasta() else { return };
    sb.write("server.py", SERVER);
    let port = {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    // The same number outside and inside: older pasta (Debian 12's) loses UDP replies when it
    // has to translate the port (hutch warns about that).
    let publish = format!("127.0.0.1:{port}:{port}/udp");
    let inside = port.to_string();
    let mut running = start_ready(
        &sb,
        &[
            "--net",
            "pasta",
            "--publish",
            &publish,
            "--",
            "python3",
            "server.py",
            "udp",
            &inside,
        ],
    );
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    client.connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 100];
    // UDP may lose the first datagram while pasta sets up its forwarding socket: ask again.
    let got = (0..10).find_map(|_| {
        client.send(b"ping").unwrap();
        client.recv(&mut buf).ok()
    });
    assert_eq!(got.map(|n| &buf[..n]), Some(&b"echo ping"[..]));
    let _ = running.0.kill();
}

#[test]
fn the_hosts_loopback_is_reachable_only_with_host_or_the_opt_in() {
    let Some(sb) = with_pasta() else { return };
    sb.write("probe.py", PROBE);
    // Connections complete in the listen backlog; nobody needs to accept them.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let probe = |net: &[&str], host: &str| -> String {
        let mut args = net.to_vec();
        args.extend(["--", "python3", "probe.py", host, &port]);
        ok(&sb.run(&args)).trim().to_owned()
    };
    let none = probe(&["--net", "none"], "127.0.0.1");
    assert!(none.starts_with("unreachable"), "--net none: {none}");
    let pasta = probe(&["--net", "pasta"], "127.0.0.1");
    assert!(pasta.starts_with("unreachable"), "--net pasta: {pasta}");
    assert_eq!(probe(&["--net", "host"], "127.0.0.1"), "reached");
    assert_eq!(
        probe(
            &["--net", "pasta", "--net-host-loopback"],
            "host.hutch.internal"
        ),
        "reached",
        "the opt-in: the host's loopback at the gateway"
    );
    // Without the opt-in the name is not even there (it would go to DNS, off this machine).
    let hosts = ok(&sb.run(&["--net", "pasta", "--", "cat", "/etc/hosts"]));
    assert!(!hosts.contains("host.hutch.internal"), "{hosts}");
    drop(listener);
}

#[test]
fn dns_and_hostname_files_point_at_pasta() {
    let Some(sb) = with_pasta() else { return };
    let out = ok(&sb.run(&[
        "--net",
        "pasta",
        "--hostname",
        "web1",
        "--",
        "sh",
        "-c",
        "cat /etc/resolv.conf /etc/hosts; echo x > /etc/resolv.conf || echo read-only",
    ]));
    assert!(out.contains("\nnameserver "), "{out}");
    assert!(out.contains("127.0.1.1\tweb1\n"), "{out}");
    assert!(out.ends_with("read-only\n"), "{out}");
    // Only pasta gets them: --net none keeps the host's files.
    let none = ok(&sb.run(&["--", "cat", "/etc/hosts"]));
    assert_eq!(none, std::fs::read_to_string("/etc/hosts").unwrap());
    assert_eq!(
        ok(&sb.run(&["--net", "pasta", "--", "true"])),
        "",
        "`hutch run --net pasta -- true` works"
    );
}

/// The interface hutch names after the host's default route, as pasta itself would: the
/// first IPv4 default route's in /proc/net/route, else eth0.
fn expected_interface() -> String {
    let table = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 7 && f[1] == "00000000" && f[7] == "00000000" && f[3] == "0003")
        .map(|f| f[0].to_owned())
        .unwrap_or_else(|| "eth0".into())
}

#[test]
fn the_sandbox_makes_pastas_interface_persistent() {
    let Some(sb) = with_pasta() else { return };
    // The sandbox makes the tap before pasta runs, persistent, so that pasta's exit does not
    // wait for the kernel to unregister it; pasta attaches to it and configures it as ever.
    let out = ok(&sb.run(&[
        "--net",
        "pasta",
        "--",
        "sh",
        "-c",
        "ip -d -o link show; ip -o -4 addr show",
    ]));
    let name = expected_interface();
    let link = out
        .lines()
        .find(|l| l.contains(&format!(": {name}: ")))
        .unwrap_or_else(|| panic!("no interface {name} in the sandbox: {out}"));
    assert!(link.contains("tun type tap"), "{link}");
    // Where SELinux enforces, a confined pasta may not take over the sandbox's tap: it makes
    // its own then, which is not persistent.
    let selinux = std::fs::read("/sys/fs/selinux/enforce").is_ok_and(|v| v.starts_with(b"1"));
    let expected = if selinux { "persist off" } else { "persist on" };
    assert!(link.contains(expected), "{link}");
    assert!(link.contains(",UP,") || link.contains("<UP,"), "{link}");
    assert!(
        out.lines()
            .any(|l| l.contains(&format!(": {name} ")) && l.contains("inet ")),
        "pasta configured no IPv4 address on {name}: {out}"
    );
}

#[test]
fn pasta_ends_with_the_sandbox_and_with_a_killed_hutch() {
    let Some(sb) = with_pasta() else { return };
    // A normal end: hutch kills pasta as it exits (and without a published port, leaves the
    // reaping to whoever inherits it).
    let mut running = start_ready(
        &sb,
        &["--net", "pasta", "--", "sh", "-c", "echo ready; sleep 1"],
    );
    let (init, pastas) = init_and_pasta(running.0.id());
    assert_eq!(pastas.len(), 1, "one pasta for sandbox {init}");
    assert!(running.0.wait().unwrap().success());
    assert!(
        eventually(5, || !alive(pastas[0])),
        "pasta {} outlived the sandbox",
        pastas[0]
    );

    // SIGKILL of hutch: pasta's parent-death signal ends it.
    let mut running = start_ready(
        &sb,
        &["--net", "pasta", "--", "sh", "-c", "echo ready; sleep 60"],
    );
    let (init, pastas) = init_and_pasta(running.0.id());
    assert_eq!(pastas.len(), 1, "one pasta for sandbox {init}");
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    assert!(
        eventually(5, || !alive(pastas[0]) && pastas_for(init).is_empty()),
        "pasta {} outlived a killed hutch",
        pastas[0]
    );
}

#[test]
fn a_taken_host_port_is_reported() {
    let Some(sb) = with_pasta() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = sb.run(&[
        "--net",
        "pasta",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host port {port} is in use")),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    drop(listener);
}

#[test]
fn publishing_needs_pasta_and_pasta_needs_to_be_installed() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&["-p", "8080:80", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("needs --net pasta"),
        "{}",
        stderr(&out)
    );
    let out = sb.run(&["--net", "host", "--publish", "8080:80", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let out = sb.run(&["--net", "pasta", "-p", "80", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("[IP:]HOSTPORT:PORT"),
        "{}",
        stderr(&out)
    );

    let mut cmd = sb.hutch(["run", "--net", "pasta", "--", "/bin/true"]);
    let out: Output = cmd.env("PATH", "/nonexistent").output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("apt install passt"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

/// `hutch --root <work>/state ARGS...`, waited for, stdin and stdout closed.
fn env_hutch(sb: &Sandbox, args: &[&str]) -> Output {
    let root = sb.path().join("state");
    let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    cmd.args(args);
    cmd.output().expect("spawn hutch")
}

fn init_pid(sb: &Sandbox, name: &str) -> u32 {
    let status: serde_json::Value =
        serde_json::from_str(&ok(&env_hutch(sb, &["status", name, "--json"]))).unwrap();
    status["init_pid"].as_u64().expect("running") as u32
}

/// Whether the environment's server answers on host port `port`.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer == "hello over tcp\n"
}

#[test]
fn an_environment_keeps_its_published_port_across_restart() {
    let Some(sb) = with_pasta() else { return };
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8000");
    ok(&env_hutch(
        &sb,
        &[
            "create",
            "web",
            "--host",
            "--net",
            "pasta",
            "--publish",
            &publish,
        ],
    ));
    let definition =
        std::fs::read_to_string(sb.path().join("state/data/envs/web/env.toml")).unwrap();
    assert!(definition.contains(&publish), "{definition}");
    ok(&env_hutch(&sb, &["start", "web"]));
    // The server runs in the background inside; `exec` returns once the shell has started it.
    let serve = |sb: &Sandbox| {
        let mut cmd = sb.hutch(["--root".as_ref(), sb.path().join("state").as_os_str()]);
        cmd.args([
            "exec",
            "web",
            "--",
            "sh",
            "-c",
            "python3 -c \"$0\" tcp 8000 >/dev/null 2>&1 &",
        ])
        .arg(SERVER)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        assert!(cmd.status().unwrap().success());
    };
    serve(&sb);
    assert!(
        eventually(10, || answers(port)),
        "published port {port} before restart"
    );
    let first = init_pid(&sb, "web");
    let first_pasta = pastas_for(first);
    assert_eq!(first_pasta.len(), 1);

    ok(&env_hutch(&sb, &["restart", "web"]));
    let second = init_pid(&sb, "web");
    assert_ne!(first, second);
    assert!(
        eventually(5, || !alive(first_pasta[0])),
        "the old pasta ended with the old PID 1"
    );
    assert_eq!(pastas_for(second).len(), 1, "a new pasta for the new PID 1");
    serve(&sb);
    assert!(
        eventually(10, || answers(port)),
        "published port {port} after restart"
    );

    // Inside, the network is the environment's own, joined by exec as well.
    let resolv = ok(&env_hutch(
        &sb,
        &["exec", "web", "--", "cat", "/etc/resolv.conf"],
    ));
    assert!(resolv.contains("nameserver "), "{resolv}");

    let second_pasta = pastas_for(second);
    ok(&env_hutch(&sb, &["stop", "web", "--time", "2"]));
    assert!(
        eventually(5, || second_pasta.iter().all(|&p| !alive(p))),
        "pasta outlived the environment"
    );
}
