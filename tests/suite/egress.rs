//! `--allow-host`: egress by name, enforced by hutch's forwarder outside the sandbox.
//!
//! No internet here: the "remote" servers listen on the host's loopback, and the debug-build
//! seam HUTCH_TEST_UPSTREAM tells the forwarder where a.test and b.test are, both at the SAME
//! address and port, so that only the name tells them apart. Every attack runs as the
//! unprivileged test user, from inside, with real tools (curl, getent, bash's /dev/tcp).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::harness::{ok, sandbox, stderr, Running, Sandbox};

fn strict_or_skip(why: &str) {
    if std::env::var_os("HUTCH_TEST_STRICT").is_some_and(|v| v == "1") {
        panic!("HUTCH_TEST_STRICT=1 and {why}");
    }
    eprintln!("skipping: {why}");
}

fn has(tool: &str) -> bool {
    ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .any(|dir| Path::new(dir).join(tool).exists())
}

/// A sandbox, and the tools these tests need on the host and inside.
fn with_tools() -> Option<Sandbox> {
    let sb = sandbox()?;
    for tool in ["curl", "openssl", "getent", "bash", "pasta"] {
        if !has(tool) {
            strict_or_skip(&format!("{tool} is not installed"));
            return None;
        }
    }
    Some(sb)
}

/// A certificate for a.test and b.test (one certificate: the server cannot tell them apart
/// either) in the sandbox's work directory as cert.pem, with its key as key.pem.
fn certificate(sb: &Sandbox) {
    let out = Command::new("openssl")
        .current_dir(sb.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=a.test",
            "-addext",
            "subjectAltName=DNS:a.test,DNS:b.test",
        ])
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl: {}", stderr(&out));
    for file in ["cert.pem", "key.pem"] {
        let text = std::fs::read_to_string(sb.path().join(file)).unwrap();
        sb.write(file, &text);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server -www` on 127.0.0.1:PORT: answers every HTTPS request with a status page.
fn tls_server(sb: &Sandbox) -> (Running, u16) {
    let port = free_port();
    let child = Command::new("openssl")
        .current_dir(sb.path())
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
        ])
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let running = Running(child);
    assert!(
        super::harness::eventually(10, || TcpStream::connect(("127.0.0.1", port)).is_ok()),
        "s_server listens"
    );
    (running, port)
}

/// A plain HTTP server on 127.0.0.1 that answers "served HOST" with the Host header it got,
/// request after request on one connection (keep-alive) until a request says
/// `Connection: close`; for anything that is not HTTP, a greeting line ("raw hello").
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut client = client;
                loop {
                    let mut first = String::new();
                    if reader.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    if !first.contains("HTTP/1.") {
                        let _ = client.write_all(b"raw hello\n");
                        return;
                    }
                    let (mut host, mut close) = (String::new(), false);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(value) = line.strip_prefix("Host: ") {
                            host = value.trim().to_owned();
                        }
                        close |= line.eq_ignore_ascii_case("connection: close\r\n");
                    }
                    let body = format!("served {host}\n");
                    let _ = write!(
                        client,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if close {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// `hutch -v run --net pasta ALLOW... -- bash -c SCRIPT` with the forwarder's upstream table.
fn run_allowed(sb: &Sandbox, upstream: &str, allow: &[&str], script: &str) -> Output {
    let mut cmd = sb.hutch(["-v", "run", "--net", "pasta"]);
    for entry in allow {
        cmd.args(["--allow-host", entry]);
    }
    cmd.args(["--", "bash", "-c", script])
        .env("HUTCH_TEST_UPSTREAM", upstream);
    cmd.output().expect("spawn hutch")
}

/// The lines of `out` that follow `marker` lines: `== NAME` sections printed by the script.
fn section(out: &str, name: &str) -> String {
    let start = format!("== {name}\n");
    let at = out
        .find(&start)
        .unwrap_or_else(|| panic!("no section {name}: {out}"));
    let rest = &out[at + start.len()..];
    rest[..rest.find("== ").unwrap_or(rest.len())].to_owned()
}

#[test]
fn https_reaches_the_allowed_name_and_no_other_on_the_same_address() {
    let Some(sb) = with_tools() else { return };
    certificate(&sb);
    let (_server, port) = tls_server(&sb);
    // Both names lead to the same server: only the forwarder's decision separates them.
    let upstream = format!("a.test:443=127.0.0.1:{port},b.test:443=127.0.0.1:{port}");
    let script = format!(
        r#"
exec 2>&1
direct() {{ curl --noproxy '*' -sS --max-time 20 --cacert cert.pem "$@"; echo "exit=$?"; }}
echo "== dns-a"; getent hosts a.test; echo "exit=$?"
echo "== dns-b"; getent hosts b.test; echo "exit=$?"
echo "== a"; direct https://a.test/ | grep -e 'Ciphers supported' -e exit=
echo "== b"; direct https://b.test/
echo "== b-forced"; direct --resolve "b.test:443:$(getent hosts a.test | cut -d' ' -f1)" https://b.test/
echo "== b-proxy"; curl -sS --max-time 20 --cacert cert.pem https://b.test/; echo "exit=$?"
echo "== a-proxy"; curl -sS --max-time 20 --cacert cert.pem https://a.test/ | grep -e 'Ciphers supported' -e exit=; echo "exit=$?"
echo "== b-tunnel"; curl -sS --max-time 20 --cacert cert.pem --connect-to b.test:443:a.test:443 https://b.test/; echo "exit=$?"
echo "== host-port"; direct https://127.0.0.1:{port}/
echo "== ip"; direct https://192.0.2.1/
echo "== end"
"#
    );
    let out = run_allowed(&sb, &upstream, &["a.test"], &script);
    let text = ok(&out);
    let log = stderr(&out);

    // DNS inside answers the allowed name only, with the forwarder's address.
    assert_eq!(
        section(&text, "dns-a").trim(),
        "127.77.0.1      a.test\nexit=0"
    );
    assert_eq!(
        section(&text, "dns-b").trim(),
        "exit=2",
        "b.test does not exist inside"
    );
    // The allowed name is reached by name, directly and through the proxy variables.
    assert!(section(&text, "a").contains("Ciphers supported"), "{text}");
    assert!(
        section(&text, "a-proxy").contains("Ciphers supported"),
        "{text}"
    );
    // Another name: no address for it ...
    let b = section(&text, "b");
    assert!(
        b.contains("Could not resolve host: b.test") && b.contains("exit=6"),
        "{b}"
    );
    // ... and forcing a.test's address does not help: the TLS server name says b.test, and
    // the forwarder closes the connection before any byte reaches the server.
    let forced = section(&text, "b-forced");
    assert!(forced.contains("exit=35"), "TLS handshake cut: {forced}");
    // A proxy request for it is refused with the reason.
    let proxied = section(&text, "b-proxy");
    assert!(
        proxied.contains("403") && proxied.contains("exit=56"),
        "{proxied}"
    );
    // A tunnel opened to a.test whose TLS names b.test is cut before the server sees it.
    let tunnel = section(&text, "b-tunnel");
    assert!(
        tunnel.contains("exit=35") && !tunnel.contains("Ciphers supported"),
        "{tunnel}"
    );
    // Addresses lead nowhere: the host's loopback is not the sandbox's, and there is no route.
    let host_port = section(&text, "host-port");
    assert!(
        host_port.contains("exit=7") && host_port.contains("Couldn't connect"),
        "{host_port}"
    );
    let ip = section(&text, "ip");
    assert!(ip.contains("exit=7"), "{ip}");
    assert!(
        ip.contains("Network is unreachable") || ip.contains("Couldn't connect"),
        "{ip}"
    );
    // Denials are logged with -v, with the name.
    assert!(log.contains("egress denied"), "{log}");
    assert!(log.contains("b.test"), "{log}");
}

#[test]
fn http_is_matched_on_its_host_header() {
    let Some(sb) = with_tools() else { return };
    let port = http_server();
    let upstream = format!("a.test:80=127.0.0.1:{port},b.test:80=127.0.0.1:{port}");
    let script = r#"
exec 2>&1
echo "== a"; curl --noproxy '*' -sS --max-time 20 http://a.test/; echo "exit=$?"
echo "== b-as-a"; curl --noproxy '*' -sS --max-time 20 -H 'Host: b.test' http://a.test/; echo "exit=$?"
echo "== b-proxy"; curl -sS --max-time 20 http://b.test/; echo "exit=$?"
echo "== a-proxy"; curl -sS --max-time 20 http://a.test/x; echo "exit=$?"
echo "== pipelined"
exec 3<>/dev/tcp/a.test/80
printf 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: b.test\r\n\r\n' >&3
timeout 20 cat <&3; echo "exit=$?"
echo "== tunnel-b"; curl -sS --max-time 20 --proxy http://127.77.0.1:80 --proxytunnel --connect-to b.test:80:a.test:80 http://b.test/; echo "exit=$?"
echo "== tunnel-a"; curl -sS --max-time 20 --proxy http://127.77.0.1:80 --proxytunnel http://a.test/; echo "exit=$?"
echo "== end"
"#;
    let out = run_allowed(&sb, &upstream, &["a.test:80"], script);
    let text = ok(&out);
    assert_eq!(section(&text, "a").trim(), "served a.test\nexit=0");
    let forged = section(&text, "b-as-a");
    assert!(
        forged.contains("egress to b.test:80 is not allowed") && !forged.contains("served"),
        "{forged}"
    );
    let proxied = section(&text, "b-proxy");
    assert!(
        proxied.contains("not allowed") && !proxied.contains("served"),
        "{proxied}"
    );
    assert!(
        section(&text, "a-proxy").contains("served a.test"),
        "{text}"
    );
    // A second request on a.test's connection, for b.test, is never answered: the forwarder
    // asked the server to close after the first.
    let pipelined = section(&text, "pipelined");
    assert!(
        pipelined.contains("served a.test") && !pipelined.contains("served b.test"),
        "{pipelined}"
    );
    // A tunnel opened to a.test that carries a request for b.test is refused inside.
    let tunnel = section(&text, "tunnel-b");
    assert!(
        tunnel.contains("egress to b.test:80 is not allowed") && !tunnel.contains("served"),
        "{tunnel}"
    );
    assert!(
        section(&text, "tunnel-a").contains("served a.test"),
        "{text}"
    );
}

#[test]
fn other_ports_only_for_names_listed_with_them() {
    let Some(sb) = with_tools() else { return };
    let port = http_server();
    let upstream = format!("db.test:5432=127.0.0.1:{port},a.test:443=127.0.0.1:{port}");
    let script = r#"
exec 2>&1
probe() { timeout 20 bash -c "exec 3<>/dev/tcp/$1/$2 && echo hi >&3 && head -1 <&3"; echo "exit=$?"; }
echo "== db"; probe db.test 5432
echo "== a-5432"; probe a.test 5432
echo "== db-22"; probe db.test 22
echo "== end"
"#;
    let out = run_allowed(&sb, &upstream, &["db.test:5432", "a.test"], script);
    let text = ok(&out);
    // Any protocol goes to the name listed with its port...
    assert_eq!(section(&text, "db").trim(), "raw hello\nexit=0");
    // ...and to no other port, nor another name on that port.
    for name in ["a-5432", "db-22"] {
        let s = section(&text, name);
        assert!(
            s.contains("Connection refused") && s.contains("exit=1"),
            "{name}: {s}"
        );
    }
}

#[test]
fn allow_host_needs_pasta_and_good_names() {
    let Some(sb) = sandbox() else { return };
    for (args, message, hint) in [
        (
            vec!["--allow-host", "a.test"],
            "--allow-host needs --net pasta (the network is none)",
            "add --net pasta",
        ),
        (
            vec!["--net", "pasta", "--allow-host", "*.a.test:22"],
            "a wildcard cannot have port 22",
            "list each name with its port",
        ),
        (
            vec!["--net", "pasta", "--allow-host", "10.0.0.1"],
            "\"10.0.0.1\" is an address: egress is allowed by name",
            "give the name",
        ),
        (
            vec!["--net", "pasta", "--allow-host", "a.test", "-p", "8080:80"],
            "--allow-host and --publish cannot be combined",
            "published ports come through pasta",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--", "true"]);
        let out = sb.run(&all);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains(&format!("hint: {hint}")), "{args:?}: {err}");
    }
}

#[test]
fn profile_allow_list_is_explained() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "egress.toml",
        "extends = \"default\"\n[net]\nmode = \"pasta\"\nallow = [\"pypi.org\", \"*.pythonhosted.org\"]\n",
    );
    let out = sb.run(&[
        "--profile",
        "./egress.toml",
        "--allow-host",
        "a.test",
        "--explain",
    ]);
    let text = ok(&out);
    assert!(
        text.contains("egress:     only pypi.org, *.pythonhosted.org, a.test"),
        "{text}"
    );
    assert!(text.contains("DNS:        127.77.0.1 (hutch answers the allowed names only)"));
    let json = ok(&sb.run(&["--profile", "./egress.toml", "--explain", "--json"]));
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        plan["network"]["allow_hosts"],
        serde_json::json!(["pypi.org", "*.pythonhosted.org"])
    );
    // The proxy variables point at the forwarder.
    assert!(text.contains("https_proxy=http://127.77.0.1:80"), "{text}");
}

/// Pids of egress forwarders serving the sandbox whose PID 1 is `init`.
fn forwarders_of(init: u64) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.get(1) == Some(&&b"__egress-forwarder"[..])
            && args.get(2) == Some(&init.to_string().as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

#[test]
fn an_environment_keeps_its_allow_list_and_its_forwarder_ends_with_it() {
    let Some(sb) = with_tools() else { return };
    certificate(&sb);
    let (_server, port) = tls_server(&sb);
    let root = sb.path().join("state");
    let hutch = |args: &[&str]| {
        let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
        cmd.args(args).env(
            "HUTCH_TEST_UPSTREAM",
            format!("a.test:443=127.0.0.1:{port},b.test:443=127.0.0.1:{port}"),
        );
        cmd.output().expect("spawn hutch")
    };
    ok(&hutch(&[
        "create",
        "box",
        "--host",
        "--net",
        "pasta",
        "--allow-host",
        "a.test",
    ]));
    ok(&hutch(&["start", "box"]));
    let status: serde_json::Value =
        serde_json::from_str(&ok(&hutch(&["status", "box", "--json"]))).unwrap();
    let init = status["init_pid"].as_u64().expect("running");
    let forwarders = forwarders_of(init);
    assert_eq!(forwarders.len(), 1, "one forwarder for the environment");
    // It parses what sandboxed programs send: it runs under the sandbox's seccomp filter and
    // can gain no privilege.
    let status = std::fs::read_to_string(format!("/proc/{}/status", forwarders[0])).unwrap();
    for line in ["NoNewPrivs:\t1", "Seccomp:\t2"] {
        assert!(
            status.lines().any(|l| l == line),
            "no {line:?} in:\n{status}"
        );
    }
    let out = hutch(&[
        "exec",
        "box",
        "--",
        "sh",
        "-c",
        "curl -sSk --noproxy '*' https://a.test/ | grep -c 'Ciphers supported'; \
         curl -sSk --noproxy '*' https://b.test/; echo exit=$?",
    ]);
    let text = super::harness::stdout(&out) + &stderr(&out);
    assert!(text.starts_with("1\n"), "a.test reached: {text}");
    assert!(
        text.contains("Could not resolve host: b.test") && text.contains("exit=6"),
        "{text}"
    );
    ok(&hutch(&["stop", "box"]));
    assert!(
        super::harness::eventually(10, || forwarders
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())),
        "the forwarder ends with the environment"
    );
    ok(&hutch(&["rm", "box"]));
}

/// Whether this host reaches `url` itself (the registries CI may reach; no other internet).
fn host_reaches(url: &str) -> bool {
    Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--max-time", "20", url])
        .status()
        .is_ok_and(|s| s.success())
}

/// The host names of the apt mirrors this host uses (one-line and deb822 sources), so that the
/// test follows whatever mirror the machine is set up with.
fn apt_mirror_hosts() -> Vec<String> {
    let mut texts = vec![std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for entry in dir.flatten() {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|e| e == "list" || e == "sources")
            {
                texts.push(std::fs::read_to_string(path).unwrap_or_default());
            }
        }
    }
    let mut hosts = Vec::new();
    for line in texts.iter().flat_map(|t| t.lines()) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        for word in line.split_whitespace() {
            let Some(rest) = word
                .strip_prefix("http://")
                .or_else(|| word.strip_prefix("https://"))
            else {
                continue;
            };
            let host = rest.split(['/', ':']).next().unwrap_or_default().to_owned();
            if !host.is_empty() && !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

/// `hutch run --net pasta --allow-host HOST... -- bash -c SCRIPT`, with the real resolver.
fn run_allowing(sb: &Sandbox, hosts: &[&str], script: &str) -> Output {
    let mut cmd = sb.hutch(["-v", "run", "--net", "pasta"]);
    for host in hosts {
        cmd.args(["--allow-host", host]);
    }
    cmd.args(["--", "bash", "-c", script]);
    cmd.output().expect("spawn hutch")
}

#[test]
fn real_package_registries_by_name_and_nothing_else() {
    let Some(sb) = with_tools() else { return };
    let mirrors = apt_mirror_hosts();
    let pypi = "https://pypi.org/simple/six/";
    let Some(mirror) = mirrors.first() else {
        strict_or_skip("this host has no http(s) apt source");
        return;
    };
    if !host_reaches(pypi) || !host_reaches(&format!("http://{mirror}/")) {
        strict_or_skip("this host cannot reach pypi.org and its apt mirror");
        return;
    }
    // The real resolver, servers and clients, no test seam: apt over plain HTTP (matched on the
    // Host header), pip over HTTPS (SNI), each through the forwarder as the proxy the sandbox's
    // http_proxy/https_proxy name. apt runs as the user, on lists and a cache of its own.
    let apt = "mkdir -p lists/partial cache/archives/partial && \
        apt=\"apt-get -q -o Dir::State::Lists=$PWD/lists -o Dir::Cache=$PWD/cache -o Debug::NoLocking=1 \
        -o APT::Sandbox::User=nobody\" && $apt update >apt.log 2>&1 && $apt download hello \
        >>apt.log 2>&1 && ls hello_*.deb && echo 'apt ok' || echo 'apt failed'";
    let pip = "python3 -m pip download --no-deps --no-cache-dir -d wheels six==1.16.0 \
        >pip.log 2>&1 && ls wheels && echo 'pip ok' || echo 'pip failed'";
    let script = format!("{apt}; {pip}");

    let mut registries: Vec<&str> = mirrors.iter().map(String::as_str).collect();
    registries.extend(["pypi.org", "files.pythonhosted.org"]);
    let out = run_allowing(&sb, &registries, &script);
    let text = String::from_utf8_lossy(&out.stdout);
    let logs = || {
        let read = |f: &str| std::fs::read_to_string(sb.path().join(f)).unwrap_or_default();
        format!(
            "{}\napt.log:\n{}\npip.log:\n{}",
            stderr(&out),
            read("apt.log"),
            read("pip.log")
        )
    };
    assert!(text.contains("apt ok"), "{text}\n{}", logs());
    assert!(text.contains("pip ok"), "{text}\n{}", logs());

    // pypi.org alone: its index is reachable, the files it points to and the mirror are not.
    let out = run_allowing(
        &sb,
        &["pypi.org"],
        &format!(
            "curl -fsS -o /dev/null --max-time 30 {pypi} && echo 'index ok'; rm -rf lists cache \
             wheels hello_*.deb; {script}; curl --noproxy '*' -fsS -o /dev/null --max-time 30 \
             http://{mirror}/ && echo 'mirror reached directly' || echo 'mirror refused directly'"
        ),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("index ok"), "{text}\n{}", logs());
    assert!(text.contains("apt failed"), "{text}\n{}", logs());
    assert!(text.contains("pip failed"), "{text}\n{}", logs());
    assert!(
        text.contains("mirror refused directly"),
        "{text}\n{}",
        logs()
    );
}
