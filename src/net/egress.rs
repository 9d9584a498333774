//! Egress by name (`--allow-host`): the forwarder that is a sandbox's only way out.
//!
//! Why not pasta: pasta gives the sandbox a tap interface with the host's routes and turns every
//! packet into a socket of the user on the host. Anything reachable that way is reachable by
//! address, and an address does not say which name a connection is for (a CDN serves thousands
//! of names from one). pasta has no filter by name, and turning its protocol handlers off
//! (`--no-tcp`, `--no-udp`) leaves it nothing to do. So with an allow-list pasta is not started
//! at all: the sandbox's network namespace keeps only its loopback interface, with no route
//! anywhere, and hutch's forwarder is the one way out:
//!
//! - A short-lived binder process joins the sandbox's user and network namespaces (setns(2) on
//!   a pidfd of its PID 1, which the launcher's user owns) and opens the listeners there, on
//!   addresses of 127.77.0.0/16 (routed to loopback with no configuration): DNS on
//!   127.77.0.1:53, HTTP on :80, HTTPS on :443, and a name's own address for each port listed
//!   with it ([`super::allow`]). It hands them over with SCM_RIGHTS and exits. A socket stays
//!   in the namespace it was made in, so the forwarder, which never joins the sandbox, accepts
//!   connections made inside and connects out from the host's namespace. Nothing runs inside.
//! - The sandbox's resolv.conf names 127.77.0.1; the answerer ([`super::dns`]) gives allowed
//!   names a forwarder address and every other name NXDOMAIN.
//! - Each connection is matched on the name it is for, read from its first bytes
//!   ([`super::sni`]): TLS server_name on 443, HTTP CONNECT target, absolute URI or Host header
//!   on 80 (also the proxy that HTTP(S)_PROXY inside name), or the address it was made to for
//!   a port listed with its name. An allowed name is resolved by the host's resolver and
//!   connected to; anything else is closed (HTTP gets a 403) and logged with `-v`.
//! - A name is read once per connection, so nothing after it may name another host: plain
//!   HTTP requests go out with `Connection: close` (a second request on the connection would
//!   not be read), and a CONNECT tunnel to port 80 or 443 must carry a TLS server name or HTTP
//!   Host that is itself allowed.
//!
//! So a program that ignores the proxy variables, resolves a name by other means, or forces an
//! address (`curl --resolve`) still reaches only allowed names: there is no route except to the
//! forwarder, and the forwarder goes where the connection's own name says, if it is allowed.
//! What it cannot see: a TLS client that names an allowed host in SNI and another in its
//! encrypted HTTP Host header (domain fronting) reaches whatever that allowed host's server
//! serves under the other name; CDNs mostly refuse such requests, but the forwarder cannot.
//! UDP other than DNS (QUIC, for one) has no way out: clients fall back to TCP.
//!
//! The forwarder is a process of its own (hutch itself, re-executed) rather than a thread of
//! the launcher: the launcher must stay single-threaded to clone sandboxes, and the code that
//! parses what sandboxed programs send does not run in the process that holds the sandbox.

use std::ffi::OsString;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use super::allow::{AllowHost, EgressPlan, Listener, Service, FORWARDER, HTTP_PORT};
use super::sni::{self, Sniffed};
use super::{dns, NetError};
use crate::sys;

/// The hidden first argument that makes `hutch` the forwarder.
pub const FORWARDER_ARG: &str = "__egress-forwarder";
/// The hidden first argument that makes `hutch` the binder.
pub const BINDER_ARG: &str = "__egress-bind";
/// Debug builds only: `NAME:PORT=IP:PORT,...` sends connections for NAME:PORT to IP:PORT
/// instead of resolving NAME, so tests need no name in the host's /etc/hosts.
pub const TEST_UPSTREAM_VAR: &str = "HUTCH_TEST_UPSTREAM";

/// How long a client may take to send the bytes that name its destination, and the forwarder
/// to connect out.
const SNIFF_WITHIN: Duration = Duration::from_secs(10);
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
const READY_WITHIN: Duration = Duration::from_secs(10);
const COPY_BUFFER: usize = 128 * 1024;

/// A running forwarder, killed and reaped when dropped.
#[derive(Debug)]
pub struct Egress {
    child: Child,
}

impl Egress {
    /// Start the forwarder for the sandbox whose PID 1 is `target`; returns once its listeners
    /// are open inside. On failure nothing of it is left.
    pub fn start(plan: &EgressPlan, target: i32) -> Result<Egress, NetError> {
        let program = Path::new("/proc/self/exe");
        let spawn_error = |source| NetError::Spawn {
            path: program.to_owned(),
            source,
        };
        let (ready, ready_writer) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| spawn_error(e.into()))?;
        let level = tracing::level_filters::LevelFilter::current().to_string();
        let mut command = Command::new(program);
        // `ps` shows hutch, not /proc/self/exe.
        command
            .arg0("hutch")
            .arg(FORWARDER_ARG)
            .arg(target.to_string())
            .arg(ready_writer.as_raw_fd().to_string())
            .arg(level)
            .args(plan.allow.iter().map(|a| a.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        tracing::debug!(target, allow = %plan.allow.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "), "starting the egress forwarder");
        let child =
            sys::spawn_tied_to_parent(&mut command, ready_writer.as_fd()).map_err(spawn_error)?;
        drop(ready_writer);
        let mut egress = Egress { child };
        // The forwarder writes one line, "ok" or what failed, and closes the pipe.
        let said = match read_line_within(ready, READY_WITHIN) {
            Ok(said) => said,
            Err(e) => {
                egress.stop();
                return Err(e);
            }
        };
        if said.trim_end() == "ok" {
            tracing::debug!(pid = egress.child.id(), "egress forwarder ready");
            Ok(egress)
        } else {
            let status = egress.child.wait().map_err(NetError::Wait)?;
            let message = match said.trim_end() {
                "" => format!("the forwarder exited ({status})"),
                said => said.to_owned(),
            };
            Err(NetError::EgressFailed { message })
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a helper writes to `ready` before it closes it, waiting at most `within` for it.
fn read_line_within(ready: OwnedFd, within: Duration) -> Result<String, NetError> {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    let timeout = PollTimeout::try_from(within.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN)];
    match nix::poll::poll(&mut fds, timeout) {
        Ok(0) => {
            return Err(NetError::EgressFailed {
                message: format!("not ready within {} s", within.as_secs()),
            })
        }
        Ok(_) => {}
        Err(errno) => return Err(NetError::Wait(errno.into())),
    }
    let mut said = String::new();
    std::fs::File::from(ready)
        .take(4096)
        .read_to_string(&mut said)
        .map_err(NetError::Wait)?;
    Ok(said)
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run as the forwarder or the binder when `args` (the whole argv) say so: the exit status;
/// `None` for every other command line.
pub fn helper_main(args: &[OsString]) -> Option<u8> {
    let role = args.get(1)?;
    let rest = args.get(2..).unwrap_or_default();
    if role == FORWARDER_ARG {
        Some(forwarder_main(rest))
    } else if role == BINDER_ARG {
        Some(binder_main(rest))
    } else {
        None
    }
}

/// The forwarder's arguments: PID READY_FD LEVEL ALLOW...
struct ForwarderArgs {
    target: i32,
    ready: OwnedFd,
    level: String,
    allow: Vec<AllowHost>,
}

fn parse_forwarder_args(args: &[OsString]) -> Option<ForwarderArgs> {
    let text = |a: &OsString| a.to_str().map(str::to_owned);
    let target = text(args.first()?)?.parse().ok()?;
    let ready: RawFd = text(args.get(1)?)?.parse().ok()?;
    if ready < 3 {
        return None;
    }
    let level = text(args.get(2)?)?;
    let allow = args[3..]
        .iter()
        .map(|a| text(a)?.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    // SAFETY: the launcher passed this descriptor open (and not close-on-exec) for the forwarder
    // alone; nothing else in this fresh process owns it.
    let ready = unsafe { OwnedFd::from_raw_fd(ready) };
    // Not for the binder, which this process starts.
    nix::fcntl::fcntl(
        ready.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .ok()?;
    Some(ForwarderArgs {
        target,
        ready,
        level,
        allow,
    })
}

fn forwarder_main(args: &[OsString]) -> u8 {
    let Some(args) = parse_forwarder_args(args) else {
        crate::output::note!("hutch: {FORWARDER_ARG} is for hutch's own use");
        return crate::error::HUTCH_FAILED;
    };
    init_logs(&args.level);
    let mut ready = std::fs::File::from(args.ready);
    if let Err(e) = sys::resolve_hosts_with_builtin_services() {
        let _ = writeln!(ready, "cannot set up name resolution: {e}");
        return crate::error::HUTCH_FAILED;
    }
    let plan = match EgressPlan::new(&args.allow) {
        Ok(plan) => Arc::new(plan),
        Err(e) => {
            let _ = writeln!(ready, "{e}");
            return crate::error::HUTCH_FAILED;
        }
    };
    let listeners = plan.listeners();
    let (dns_socket, tcp) = match open_inside(args.target, &listeners) {
        Ok(sockets) => sockets,
        Err(message) => {
            let _ = writeln!(ready, "{message}");
            return crate::error::HUTCH_FAILED;
        }
    };
    // Before the first connection is read and before any thread: what follows parses what
    // sandboxed programs send.
    if let Err(message) = confine_forwarder() {
        let _ = writeln!(ready, "{message}");
        return crate::error::HUTCH_FAILED;
    }
    let upstream = Arc::new(Upstream::from_env());
    for (listener, socket) in listeners.into_iter().zip(tcp) {
        let (plan, upstream) = (Arc::clone(&plan), Arc::clone(&upstream));
        let spawned = std::thread::Builder::new()
            .name("egress-accept".into())
            .spawn(move || accept_loop(&socket, &listener, &plan, &upstream));
        if let Err(e) = spawned {
            let _ = writeln!(ready, "cannot start a thread: {e}");
            return crate::error::HUTCH_FAILED;
        }
    }
    let _ = writeln!(ready, "ok");
    drop(ready);
    serve_dns(&dns_socket, &plan);
    0
}

/// Files glibc reads to resolve a name with its files and dns services.
const RESOLVER_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/nsswitch.conf",
];

/// Confine the forwarder, the one process on the host that reads what sandboxed programs send
/// (TLS hellos, HTTP heads, DNS queries), to what forwarding needs: no_new_privs; Landlock
/// (best effort, as the kernel allows) with reading the resolver's files as the only access to
/// any file, where their links lead too (/etc/resolv.conf is often systemd-resolved's); and
/// hutch's seccomp deny-list, the one every sandbox gets. A flaw in the parsing then gives
/// sockets it already has, not the user's files or the kernel's riskier calls.
fn confine_forwarder() -> Result<(), String> {
    use crate::landlock::{self, Grant, LandlockMode, PathRule, Scopes, TcpPorts};
    sys::set_no_new_privs().map_err(|e| format!("cannot confine the egress forwarder: {e}"))?;
    let mut rules = vec![PathRule {
        path: "/etc".into(),
        grant: Grant::ReadExecute,
    }];
    for file in RESOLVER_FILES {
        if let Ok(target) = std::fs::canonicalize(file) {
            if !target.starts_with("/etc") {
                rules.push(PathRule {
                    path: target,
                    grant: Grant::ReadExecute,
                });
            }
        }
    }
    landlock::apply(
        &rules,
        &TcpPorts::default(),
        Scopes::default(),
        LandlockMode::BestEffort,
    )
    .map_err(|e| format!("cannot confine the egress forwarder (Landlock): {e}"))?;
    let program = crate::seccomp::policy(&[], &[], &[])
        .and_then(|policy| crate::seccomp::compile(&policy))
        .map_err(|e| format!("cannot confine the egress forwarder (seccomp): {e}"))?;
    crate::seccomp::apply(&program)
        .map_err(|e| format!("cannot confine the egress forwarder (seccomp): {e}"))
}

fn init_logs(level: &str) {
    let level = match level {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        _ => return,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(|| crate::output::LogWriter)
        .without_time()
        .init();
}

/// The DNS socket and one TCP listener per entry of `listeners`, all inside the network
/// namespace of `target`, from a binder process; or what went wrong, as one line.
fn open_inside(
    target: i32,
    listeners: &[Listener],
) -> Result<(UdpSocket, Vec<TcpListener>), String> {
    let (ours, theirs) =
        UnixStream::pair().map_err(|e| format!("cannot make a socket pair: {e}"))?;
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0("hutch")
        .arg(BINDER_ARG)
        .arg(target.to_string())
        .args(
            listeners
                .iter()
                .map(|l| format!("{}:{}", l.address, l.port)),
        )
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null());
    let mut binder = command
        .spawn()
        .map_err(|e| format!("cannot start the egress binder: {e}"))?;
    let received = receive_fds(&ours, listeners.len() + 1);
    let _ = binder.wait();
    let fds = received?;
    let mut fds = fds.into_iter();
    let dns = UdpSocket::from(fds.next().expect("counted"));
    Ok((dns, fds.map(TcpListener::from).collect()))
}

/// `count` descriptors sent over `socket`, or the binder's message when it sent none.
fn receive_fds(socket: &UnixStream, count: usize) -> Result<Vec<OwnedFd>, String> {
    let mut data = vec![0u8; 4096];
    let mut space = nix::cmsg_space!([RawFd; 64]);
    if count > 64 {
        return Err("too many listeners".into());
    }
    let mut iov = [IoSliceMut::new(&mut data)];
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("cannot receive the listeners: {e}"))?;
    let mut fds = Vec::new();
    for cmsg in message
        .cmsgs()
        .map_err(|e| format!("cannot receive the listeners: {e}"))?
    {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            // SAFETY: the kernel just installed these descriptors in this process for us.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let len = message.bytes;
    if fds.len() == count {
        return Ok(fds);
    }
    let said = String::from_utf8_lossy(&data[..len]).trim().to_owned();
    Err(if said.is_empty() {
        "the egress binder exited without opening the listeners".into()
    } else {
        said
    })
}

/// The binder: joins the sandbox's namespaces, opens the sockets there, and sends them to its
/// stdin (the forwarder's socket pair). Arguments: PID ADDRESS:PORT...
fn binder_main(args: &[OsString]) -> u8 {
    // SAFETY: the forwarder passed one end of a socket pair as stdin; nothing else here owns it.
    let channel = unsafe { UnixStream::from_raw_fd(0) };
    let status = match bind_inside(args) {
        Ok(fds) => {
            let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
            let sent = sendmsg::<()>(
                channel.as_raw_fd(),
                &[IoSlice::new(b"ok")],
                &[ControlMessage::ScmRights(&raw)],
                MsgFlags::empty(),
                None,
            );
            u8::from(sent.is_err())
        }
        Err(message) => {
            let _ = (&channel).write_all(message.as_bytes());
            1
        }
    };
    status
}

fn bind_inside(args: &[OsString]) -> Result<Vec<OwnedFd>, String> {
    let bad = || "bad arguments for the egress binder".to_string();
    let mut args = args.iter().map(|a| a.to_str().ok_or_else(bad));
    let target: i32 = args.next().ok_or_else(bad)??.parse().map_err(|_| bad())?;
    let addresses = args
        .map(|a| a?.parse::<SocketAddr>().map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    // Joining the user namespace the launcher's user made gives every capability inside it
    // (user_namespaces(7)), which binding ports below 1024 of its network namespace needs;
    // both at once through a pidfd, so both are the same sandbox's (setns(2)). The binder
    // keeps the host's mount and pid namespaces, yet nothing inside can reach it: it has exited
    // before the forwarder reports ready, and the sandbox runs nothing of the user's until then.
    let pidfd = sys::pidfd_open(nix::unistd::Pid::from_raw(target))
        .map_err(|e| format!("cannot find the sandbox: {e}"))?;
    sys::setns(
        pidfd.as_fd(),
        nix::sched::CloneFlags::CLONE_NEWUSER | nix::sched::CloneFlags::CLONE_NEWNET,
    )
    .map_err(|e| format!("cannot join the sandbox's network: {e}"))?;
    sys::loopback_up().map_err(|e| format!("cannot bring the sandbox's loopback up: {e}"))?;
    let dns_at = SocketAddr::from((FORWARDER, 53));
    let dns =
        UdpSocket::bind(dns_at).map_err(|e| format!("cannot listen on {dns_at} inside: {e}"))?;
    let mut fds = vec![OwnedFd::from(dns)];
    for address in addresses {
        let listener = TcpListener::bind(address)
            .map_err(|e| format!("cannot listen on {address} inside: {e}"))?;
        fds.push(OwnedFd::from(listener));
    }
    Ok(fds)
}

fn serve_dns(socket: &UdpSocket, plan: &EgressPlan) {
    let mut buffer = [0u8; 1500];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let Some((response, decision)) = dns::answer(plan, &buffer[..len]) else {
            continue;
        };
        match decision {
            dns::Decision::Refused { name } => {
                tracing::info!(name = %name, "egress: DNS refused (not in the allow-list)")
            }
            other => tracing::trace!(?other, "egress: DNS"),
        }
        let _ = socket.send_to(&response, peer);
    }
}

fn accept_loop(
    socket: &TcpListener,
    listener: &Listener,
    plan: &Arc<EgressPlan>,
    upstream: &Arc<Upstream>,
) {
    loop {
        let client = match socket.accept() {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of descriptors, most likely: let connections end, then go on.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        // Each connection costs two threads of the user's, outside the sandbox: a sandbox
        // that opens thousands must not use up the user's process limit.
        let Some(slot) = Slot::take() else {
            tracing::info!("egress: too many connections at once; closing a new one");
            continue;
        };
        let (listener, plan, upstream) = (listener.clone(), Arc::clone(plan), Arc::clone(upstream));
        let _ = std::thread::Builder::new()
            .name("egress-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                handle(client, &listener, &plan, &upstream);
                drop(slot);
            });
    }
}

/// How many connections the forwarder serves at once.
const MAX_CONNECTIONS: usize = 512;
static CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One of [`MAX_CONNECTIONS`], given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        use std::sync::atomic::Ordering;
        CONNECTIONS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CONNECTIONS).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        CONNECTIONS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Where one connection goes, decided from its first bytes.
struct Destination {
    name: String,
    port: u16,
    kind: Kind,
}

enum Kind {
    /// TLS or a port listed with its name: the bytes go as they came.
    AsIs,
    /// An HTTP request whose head is `head_len` bytes long.
    Http { head_len: usize },
    /// CONNECT: a tunnel, after a head of `head_len` bytes that stays here.
    Tunnel { head_len: usize },
}

fn handle(mut client: TcpStream, listener: &Listener, plan: &EgressPlan, upstream: &Upstream) {
    let _ = client.set_read_timeout(Some(SNIFF_WITHIN));
    let mut buffer = Vec::with_capacity(2048);
    let destination = match &listener.service {
        Service::Raw { name, port } => Destination {
            name: name.clone(),
            port: *port,
            kind: Kind::AsIs,
        },
        Service::Tls => {
            match read_until(
                &mut client,
                &mut buffer,
                sni::MAX_HELLO,
                sni::client_hello_server_name,
            ) {
                Some(Some(name)) => Destination {
                    name,
                    port: listener.port,
                    kind: Kind::AsIs,
                },
                Some(None) => {
                    tracing::info!(
                        port = listener.port,
                        "egress denied: TLS without a server name"
                    );
                    return;
                }
                None => return,
            }
        }
        Service::Http => {
            match read_until(&mut client, &mut buffer, sni::MAX_HEAD, sni::http_target) {
                Some(target) => Destination {
                    name: target.name,
                    port: target.port.unwrap_or(listener.port),
                    kind: if target.connect {
                        Kind::Tunnel {
                            head_len: target.head_len,
                        }
                    } else {
                        Kind::Http {
                            head_len: target.head_len,
                        }
                    },
                },
                None => {
                    let _ = client.write_all(&http_response(
                        400,
                        "hutch: not an HTTP/1 request with a host name",
                    ));
                    return;
                }
            }
        }
    };
    let Destination { name, port, kind } = &destination;
    let is_http = !matches!(kind, Kind::AsIs);
    if !plan.allows(name, *port) {
        deny(&mut client, name, *port, is_http);
        return;
    }
    let server = match upstream.connect(name, *port) {
        Ok(server) => server,
        Err(e) => {
            tracing::info!(name = %name, port, error = %e, "egress: cannot connect");
            if is_http {
                let _ = client.write_all(&http_response(
                    502,
                    &format!("hutch: cannot connect to {name}:{port}: {e}"),
                ));
            }
            return;
        }
    };
    let first = match kind {
        Kind::AsIs => buffer,
        Kind::Http { head_len } => closed_after_one_request(&buffer, *head_len),
        Kind::Tunnel { head_len } => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
            let tunnel = buffer[*head_len..].to_vec();
            match check_tunnel(&mut client, tunnel, *port, plan) {
                Some(first) => first,
                None => return,
            }
        }
    };
    tracing::debug!(name = %name, port, "egress allowed");
    let _ = client.set_read_timeout(None);
    if (&server).write_all(&first).is_err() {
        return;
    }
    splice(client, server);
}

fn deny(client: &mut TcpStream, name: &str, port: u16, is_http: bool) {
    tracing::info!(name = %name, port, "egress denied: not in the allow-list");
    if is_http {
        let _ = client.write_all(&http_response(
            403,
            &format!("hutch: egress to {name}:{port} is not allowed (--allow-host)"),
        ));
    }
}

/// `buffer` with its HTTP head (`head_len` bytes) asking the server to close after answering.
fn closed_after_one_request(buffer: &[u8], head_len: usize) -> Vec<u8> {
    let mut out = sni::with_connection_close(&buffer[..head_len]);
    out.extend_from_slice(&buffer[head_len..]);
    out
}

/// What a CONNECT tunnel to an HTTP(S) port carries must name an allowed host too: a TLS
/// server name or HTTP Host of another name, sent to the allowed name's address, would reach
/// that other name wherever the two share a server. The bytes to send on, or `None` (denied).
/// Tunnels to other ports (listed with their names) carry any protocol, as they came.
fn check_tunnel(
    client: &mut TcpStream,
    mut tunnel: Vec<u8>,
    port: u16,
    plan: &EgressPlan,
) -> Option<Vec<u8>> {
    if port != HTTP_PORT && port != super::allow::TLS_PORT {
        return Some(tunnel);
    }
    match read_until(client, &mut tunnel, sni::MAX_HELLO, sni::tls_or_http)? {
        sni::Inner::Tls(Some(inner)) if plan.allows(&inner, port) => Some(tunnel),
        sni::Inner::Http(target) if plan.allows(&target.name, port) => {
            Some(closed_after_one_request(&tunnel, target.head_len))
        }
        sni::Inner::Tls(None) => {
            tracing::info!(port, "egress denied: TLS without a server name in a tunnel");
            None
        }
        sni::Inner::Tls(Some(inner)) => {
            deny(client, &inner, port, false);
            None
        }
        sni::Inner::Http(target) => {
            deny(client, &target.name, port, true);
            None
        }
    }
}

/// Read from `client` into `buffer` until `sniff` decides, up to `limit` bytes; `None` when the
/// client closed, timed out or sent something `sniff` refuses.
fn read_until<T>(
    client: &mut TcpStream,
    buffer: &mut Vec<u8>,
    limit: usize,
    sniff: impl Fn(&[u8]) -> Sniffed<T>,
) -> Option<T> {
    let mut chunk = [0u8; 4096];
    loop {
        match sniff(buffer) {
            Sniffed::Done(value) => return Some(value),
            Sniffed::Invalid(why) => {
                tracing::info!(
                    why,
                    "egress denied: cannot tell which name the connection is for"
                );
                return None;
            }
            Sniffed::NeedMore if buffer.len() >= limit => return None,
            Sniffed::NeedMore => {}
        }
        let want = chunk.len().min(limit - buffer.len());
        match client.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn http_response(status: u16, text: &str) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Bad Gateway",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}\n",
        text.len() + 1
    )
    .into_bytes()
}

/// Copy both ways until both sides are done; each direction's end is passed on as a
/// half-close, so protocols that rely on it (HTTP/1.0 uploads, rsync) work.
fn splice(client: TcpStream, server: TcpStream) {
    let (Ok(client_read), Ok(server_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upload = std::thread::Builder::new()
        .name("egress-up".into())
        .stack_size(256 * 1024)
        .spawn(move || copy(client_read, server_write));
    copy(server, client);
    if let Ok(upload) = upload {
        let _ = upload.join();
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Read);
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// How the forwarder finds an allowed name's addresses: the host's resolver (getaddrinfo), or
/// in debug builds a fixed table from [`TEST_UPSTREAM_VAR`].
struct Upstream {
    fixed: Vec<((String, u16), SocketAddr)>,
}

impl Upstream {
    fn from_env() -> Upstream {
        let table = std::env::var(TEST_UPSTREAM_VAR).unwrap_or_default();
        Upstream {
            fixed: if cfg!(debug_assertions) {
                parse_fixed(&table)
            } else {
                Vec::new()
            },
        }
    }

    fn connect(&self, name: &str, port: u16) -> std::io::Result<TcpStream> {
        let addresses: Vec<SocketAddr> = match self
            .fixed
            .iter()
            .find(|((n, p), _)| n == name && *p == port)
        {
            Some((_, address)) => vec![*address],
            None => (name, port).to_socket_addrs()?.collect(),
        };
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for address in addresses {
            match TcpStream::connect_timeout(&address, CONNECT_WITHIN) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// `NAME:PORT=IP:PORT,...`; entries that do not parse are skipped.
fn parse_fixed(table: &str) -> Vec<((String, u16), SocketAddr)> {
    table
        .split(',')
        .filter_map(|entry| {
            let (from, to) = entry.split_once('=')?;
            let (name, port) = from.rsplit_once(':')?;
            Some((
                (name.to_ascii_lowercase(), port.parse().ok()?),
                to.parse().ok()?,
            ))
        })
        .collect()
}

/// An allow-list that cannot work with the rest of the network settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressSpecError {
    #[error("--allow-host needs --net pasta (the network is {net})")]
    NeedsPasta { net: &'static str },
    #[error("--allow-host and --publish cannot be combined")]
    WithPublish,
    #[error("--allow-host and --net-host-loopback cannot be combined")]
    WithHostLoopback,
    #[error("--allow-host: too many names with ports of their own")]
    TooMany,
}

impl EgressSpecError {
    pub fn hint(&self) -> String {
        match self {
            EgressSpecError::NeedsPasta { .. } => "add --net pasta: the allow-list limits a \
                network of the sandbox's own, e.g. hutch run --net pasta --allow-host pypi.org \
                -- pip download requests"
                .into(),
            EgressSpecError::WithPublish => "published ports come through pasta, which would \
                give the sandbox a route around the allow-list; drop --publish, or the \
                allow-list"
                .into(),
            EgressSpecError::TooMany => "list fewer names with ports; names without a port \
                share one address"
                .into(),
            EgressSpecError::WithHostLoopback => "allow the host's services by name instead, or \
                drop --allow-host"
                .into(),
        }
    }
}

/// The egress plan for `allow` (`None` when empty), checked against the rest of the network.
pub fn plan_for(
    allow: Vec<AllowHost>,
    net: crate::profile::NetMode,
    publish: bool,
    host_loopback: bool,
) -> Result<Option<EgressPlan>, EgressSpecError> {
    if allow.is_empty() {
        return Ok(None);
    }
    if net != crate::profile::NetMode::Pasta {
        return Err(EgressSpecError::NeedsPasta { net: net.name() });
    }
    if publish {
        return Err(EgressSpecError::WithPublish);
    }
    if host_loopback {
        return Err(EgressSpecError::WithHostLoopback);
    }
    // Names with ports of their own are counted here; too many is the only failure.
    EgressPlan::new(&allow)
        .map(Some)
        .map_err(|_| EgressSpecError::TooMany)
}

/// The proxy variables that send programs which honour them to the forwarder.
pub fn proxy_env() -> Vec<(String, String)> {
    let url = format!("http://{FORWARDER}:{HTTP_PORT}");
    let mut vars = Vec::new();
    for name in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"] {
        vars.push((name.to_owned(), url.clone()));
    }
    for name in ["no_proxy", "NO_PROXY"] {
        vars.push((name.to_owned(), "localhost,127.0.0.1,::1".to_owned()));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_table_parses() {
        assert_eq!(
            parse_fixed("a.test:443=127.0.0.1:4000,bad,B.test:80=127.0.0.1:4001"),
            [
                (("a.test".into(), 443), "127.0.0.1:4000".parse().unwrap()),
                (("b.test".into(), 80), "127.0.0.1:4001".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn responses_have_a_length() {
        let text = String::from_utf8(http_response(403, "no")).unwrap();
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(text.ends_with("\r\n\r\nno\n"));
    }
}
