//! The sandbox's own user-mode network (`--net pasta`): published ports, the plan for pasta,
//! and the files that tell programs inside where DNS is.
//!
//! A network namespace starts with nothing but a loopback interface (network_namespaces(7)).
//! Without privileges only a user-mode helper can connect it to the world: pasta (from the passt
//! package) joins the sandbox's user and network namespaces, creates a tap interface there,
//! copies the host's addresses and routes onto it (`--config-net`), and turns the sandbox's
//! packets into ordinary sockets of the user on the host. Published ports are sockets pasta
//! binds on the host and forwards into the namespace.
//!
//! What this module decides, purely and testably: parsing `--publish`, pasta's command line, the
//! generated `/etc/resolv.conf` and `/etc/hosts`. [`pasta`] runs the process.
//!
//! With an allow-list (`--allow-host`) pasta is not started: hutch's own forwarder is the
//! sandbox's only way out, and matches connections on names ([`egress`], [`allow`], [`dns`],
//! [`sni`]).

pub mod allow;
pub mod dns;
pub mod egress;
pub mod pasta;
pub mod sni;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::mounts::MountOp;

pub use allow::{AllowError, AllowHost, EgressPlan};
pub use egress::Egress;
pub use pasta::Pasta;

/// Where the sandbox's resolv.conf points when the gateway cannot be used: a link-local address
/// that pasta answers (`--dns-forward`) by asking the host's resolver.
pub const LINK_LOCAL_DNS: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// The name `/etc/hosts` gives the host when its loopback services are reachable.
pub const HOST_NAME_INSIDE: &str = "host.hutch.internal";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One `--publish [IP:]HOSTPORT:PORT[/tcp|/udp]`: a host port forwarded to a port inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    /// The host address to listen on; `None`: every address (as with `docker run -p`).
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("expected [IP:]HOSTPORT:PORT[/tcp|/udp]")]
    Format,
    #[error("{0:?} is not a port (1 to 65535)")]
    Port(String),
    #[error("{0:?} is not an IP address")]
    Address(String),
    #[error("unknown protocol {0:?}: tcp or udp")]
    Protocol(String),
}

impl PublishError {
    pub fn hint(&self) -> String {
        "e.g. 8080:80, 127.0.0.1:8080:80 (this machine only), [::1]:5353:53/udp".into()
    }
}

impl std::str::FromStr for Publish {
    type Err = PublishError;

    fn from_str(text: &str) -> Result<Publish, PublishError> {
        let (ports, protocol) = match text.rsplit_once('/') {
            Some((ports, "tcp")) => (ports, Protocol::Tcp),
            Some((ports, "udp")) => (ports, Protocol::Udp),
            Some((_, other)) => return Err(PublishError::Protocol(other.to_owned())),
            None => (text, Protocol::Tcp),
        };
        // An IPv6 address is bracketed, as in a URL: [::1]:8080:80.
        let (host_ip, ports) = match ports.strip_prefix('[') {
            Some(rest) => {
                let (ip, rest) = rest.split_once(']').ok_or(PublishError::Format)?;
                let ports = rest.strip_prefix(':').ok_or(PublishError::Format)?;
                (Some(ip), ports)
            }
            None => match ports.matches(':').count() {
                1 => (None, ports),
                2 => {
                    let (ip, ports) = ports.split_once(':').expect("two colons");
                    (Some(ip), ports)
                }
                _ => return Err(PublishError::Format),
            },
        };
        let host_ip = host_ip
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| PublishError::Address(ip.to_owned()))
            })
            .transpose()?;
        let (host_port, port) = ports.split_once(':').ok_or(PublishError::Format)?;
        let port_number = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(PublishError::Port(p.to_owned())),
        };
        Ok(Publish {
            host_ip,
            host_port: port_number(host_port)?,
            port: port_number(port)?,
            protocol,
        })
    }
}

impl fmt::Display for Publish {
    /// The canonical flag value: `127.0.0.1:8080:80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(IpAddr::V4(ip)) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port,
            self.port,
            self.protocol.name()
        )
    }
}

impl Publish {
    /// pasta's `-t`/`-u` spec: `[ADDR/]HOSTPORT:PORT`.
    pub fn pasta_spec(&self) -> String {
        let ports = format!("{}:{}", self.host_port, self.port);
        match self.host_ip {
            Some(ip) => format!("{ip}/{ports}"),
            None => ports,
        }
    }

    /// For people: `127.0.0.1:8080 -> 80/tcp`, `*:8080 -> 80/tcp`.
    pub fn describe(&self) -> String {
        let host = match self.host_ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]"),
            Some(IpAddr::V4(ip)) => ip.to_string(),
            None => "*".into(),
        };
        format!(
            "{host}:{} -> {}/{}",
            self.host_port,
            self.port,
            self.protocol.name()
        )
    }
}

/// What the host's network looks like to pasta: its IPv4 default gateway, which pasta hands to
/// the sandbox as its own, the interface of that route, and the DNS search list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNet {
    pub gateway: Option<Ipv4Addr>,
    /// The interface the default route leaves by; the sandbox's interface gets its name.
    pub interface: Option<String>,
    pub search: Vec<String>,
    /// SELinux enforces here: a confined pasta (Fedora's passt-selinux runs it as `pasta_t`)
    /// may not take over a tap that another domain made (tun_socket relabelfrom), so pasta
    /// makes its own.
    pub selinux_enforcing: bool,
}

impl HostNet {
    /// Read from `route` (`/proc/net/route`) and `resolv` (`/etc/resolv.conf`); missing files
    /// mean "not known".
    pub fn read(route: &Path, resolv: &Path) -> HostNet {
        let (gateway, interface) = match std::fs::read_to_string(route) {
            Ok(table) => match default_route(&table) {
                Some((gateway, interface)) => (Some(gateway), Some(interface)),
                None => (None, None),
            },
            Err(_) => (None, None),
        };
        HostNet {
            gateway,
            interface,
            search: std::fs::read_to_string(resolv)
                .map(|t| search_list(&t))
                .unwrap_or_default(),
            selinux_enforcing: false,
        }
    }

    pub fn current() -> HostNet {
        HostNet {
            selinux_enforcing: std::fs::read("/sys/fs/selinux/enforce")
                .is_ok_and(|v| v.starts_with(b"1")),
            ..HostNet::read(Path::new("/proc/net/route"), Path::new("/etc/resolv.conf"))
        }
    }
}

/// The gateway and interface of the first IPv4 default route in a `/proc/net/route` table — the
/// one pasta copies. Addresses there are the network-order bytes printed as a native-endian hex
/// number.
fn default_route(table: &str) -> Option<(Ipv4Addr, String)> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| u32::from_str_radix(fields.get(i)?, 16).ok();
        let (destination, gateway, flags, mask) = (hex(1)?, hex(2)?, hex(3)?, hex(7)?);
        let default = destination == 0 && mask == 0;
        let up = flags & (RTF_UP | RTF_GATEWAY) == RTF_UP | RTF_GATEWAY;
        let interface = fields.first().filter(|name| interface_name_ok(name))?;
        (default && up).then(|| (Ipv4Addr::from(gateway.to_ne_bytes()), interface.to_string()))
    })
}

/// Whether the kernel would take `name` for an interface (dev_valid_name in net/core/dev.c).
fn interface_name_ok(name: &str) -> bool {
    (1..IFNAMSIZ).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// What the kernel allows an interface name, with its terminating NUL.
const IFNAMSIZ: usize = 16;

/// The sandbox's interface when the host has no IPv4 default route to name it after.
const FALLBACK_INTERFACE: &str = "eth0";

/// The `search` (or older `domain`) list of a resolv.conf; the last such line wins, as in
/// resolv.conf(5).
fn search_list(resolv: &str) -> Vec<String> {
    let mut search = Vec::new();
    for line in resolv.lines() {
        let mut words = line.split_whitespace();
        if let Some("search" | "domain") = words.next() {
            search = words.map(str::to_owned).collect();
        }
    }
    search
}

/// The user-mode network of one sandbox, resolved against the host: what pasta is told, and the
/// files the sandbox gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNet {
    pub publish: Vec<Publish>,
    /// Whether the sandbox may reach services on the host's loopback (at the gateway address).
    pub host_loopback: bool,
    /// The nameserver the sandbox's resolv.conf names; pasta forwards it to the host's resolver.
    pub dns: Ipv4Addr,
    /// The sandbox's gateway (the host's): with `host_loopback`, the host's loopback is there.
    pub gateway: Option<Ipv4Addr>,
    /// The sandbox's interface, named after the host's (as pasta would name it).
    pub interface: String,
    /// Whether the sandbox makes the interface for pasta (see [`UserNet::pasta_device`]).
    pub premade_interface: bool,
    pub search: Vec<String>,
    /// With an allow-list: hutch's forwarder instead of pasta.
    pub egress: Option<EgressPlan>,
}

impl UserNet {
    pub fn new(publish: &[Publish], host_loopback: bool, host: &HostNet) -> UserNet {
        // The DNS forwarder's address is the gateway's when that is free for it. Older pasta
        // (Debian 12's) answers DNS from a loopback resolver (systemd-resolved's 127.0.0.53) with
        // the gateway as source whatever address was asked, and resolvers drop answers from
        // an address they did not ask; with the gateway as the forwarder the two agree. With the
        // host's loopback reachable, the gateway means "the host's loopback" to pasta, so DNS
        // moves to a link-local address of its own.
        let dns = match (host_loopback, host.gateway) {
            (false, Some(gateway)) => gateway,
            _ => LINK_LOCAL_DNS,
        };
        UserNet {
            publish: publish.to_vec(),
            host_loopback,
            dns,
            gateway: host.gateway,
            interface: host
                .interface
                .clone()
                .unwrap_or_else(|| FALLBACK_INTERFACE.to_owned()),
            premade_interface: !host.selinux_enforcing,
            search: host.search.clone(),
            egress: None,
        }
    }

    /// The interface pasta attaches to, which the sandbox makes itself; `None` with hutch's
    /// forwarder, which has no interface, and where SELinux enforces (pasta makes it then).
    pub fn pasta_device(&self) -> Option<&str> {
        (self.egress.is_none() && self.premade_interface).then_some(self.interface.as_str())
    }

    /// The same network, its egress limited to `plan`: the forwarder answers DNS.
    pub fn with_egress(self, plan: EgressPlan) -> UserNet {
        UserNet {
            dns: allow::FORWARDER,
            egress: Some(plan),
            ..self
        }
    }

    /// pasta's arguments for the sandbox whose PID 1 is `target`; it writes its pid to
    /// `ready_fd` once the interface is configured.
    pub fn pasta_args(&self, target: i32, ready_fd: i32) -> Vec<String> {
        // pasta need not watch for the namespace's end (`--no-netns-quit`): the launcher ends
        // pasta itself, and the watch (an inotify descriptor) costs an SRCU grace period,
        // about 12 ms here, when pasta exits and closes it.
        let mut args: Vec<String> = ["--foreground", "--quiet", "--config-net", "--no-netns-quit"]
            .map(String::from)
            .into();
        for (flag, protocol) in [
            ("--tcp-ports", Protocol::Tcp),
            ("--udp-ports", Protocol::Udp),
        ] {
            let specs: Vec<String> = self
                .publish
                .iter()
                .filter(|p| p.protocol == protocol)
                .map(Publish::pasta_spec)
                .collect();
            // pasta's default is `auto`: every port bound inside would be opened on the host.
            if specs.is_empty() {
                args.extend([flag.into(), "none".into()]);
            }
            // One option per port: pasta gives up on an option only when none of its ports
            // binds, so a lone port makes a taken port fatal.
            for spec in specs {
                args.extend([flag.into(), spec]);
            }
        }
        // Nothing of the host's loopback appears on the sandbox's own (the default `auto` would
        // mirror every port the host listens on)...
        args.extend(["--tcp-ns", "none", "--udp-ns", "none"].map(String::from));
        // ...nor at the gateway address, unless asked for.
        if !self.host_loopback {
            args.push("--no-map-gw".into());
        }
        // The interface is named, not left to pasta: the sandbox has made it already (a
        // persistent tap, see `crate::sys::create_persistent_tap`; not where SELinux enforces)
        // and pasta attaches to it by name.
        args.extend([
            "--ns-ifname".into(),
            self.interface.clone(),
            "--dns-forward".into(),
            self.dns.to_string(),
            "--pid".into(),
            format!("/proc/self/fd/{ready_fd}"),
            target.to_string(),
        ]);
        args
    }

    /// `/etc/resolv.conf` and `/etc/hosts` for a sandbox called `hostname`, as mount steps.
    pub fn files(&self, hostname: &str) -> Vec<MountOp> {
        let who = match self.egress {
            Some(_) => "hutch answers DNS for the allowed names only (--allow-host)",
            None => "pasta forwards DNS to the host's resolver",
        };
        let mut resolv = format!("# Generated by hutch: {who}.\nnameserver {}\n", self.dns);
        if !self.search.is_empty() {
            resolv.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        let mut hosts = format!(
            "# Generated by hutch.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost \
             ip6-loopback\n127.0.1.1\t{hostname}\n"
        );
        if let (true, Some(gateway)) = (self.host_loopback, self.gateway) {
            hosts.push_str(&format!("{gateway}\t{HOST_NAME_INSIDE}\n"));
        }
        vec![
            MountOp::File {
                dst: "/etc/resolv.conf".into(),
                contents: resolv,
            },
            MountOp::File {
                dst: "/etc/hosts".into(),
                contents: hosts,
            },
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("--net pasta needs pasta, which is not in PATH")]
    PastaMissing,
    #[error("host port {port} is in use (--publish {publish})", port = .publish.host_port)]
    PortInUse { publish: Publish },
    #[error("host port {port} needs privileges (--publish {publish})", port = .publish.host_port)]
    PortPrivileged { publish: Publish },
    #[error("cannot listen on host port {port} (--publish {publish})", port = .publish.host_port)]
    PortUnavailable {
        publish: Publish,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start pasta ({})", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pasta could not set up the sandbox's network ({status}){}", detail(.message))]
    PastaFailed { status: String, message: String },
    #[error("pasta did not set up the sandbox's network within {seconds} s")]
    Timeout { seconds: u64 },
    #[error("lost track of pasta")]
    Wait(#[source] std::io::Error),
    #[error("the egress forwarder could not start: {message}")]
    EgressFailed { message: String },
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl NetError {
    pub fn hint(&self) -> Option<String> {
        match self {
            NetError::PastaMissing => Some(
                "install pasta: `sudo apt install passt` (Debian, Ubuntu) or `sudo dnf install \
                 passt` (Fedora); slirp4netns is not supported. Or run with --net none or --net \
                 host"
                    .into(),
            ),
            NetError::PortInUse { publish } => Some(format!(
                "another program listens there (`ss -lntup 'sport = :{port}'` shows which); stop \
                 it, or publish another host port, e.g. --publish {other}",
                port = publish.host_port,
                other = Publish {
                    host_port: publish.host_port.wrapping_add(1).max(1024),
                    ..*publish
                },
            )),
            NetError::PortPrivileged { .. } => Some(
                "ports below 1024 need privileges: publish a higher host port, e.g. --publish \
                 8080:80, or lower the sysctl net.ipv4.ip_unprivileged_port_start"
                    .into(),
            ),
            NetError::PortUnavailable { publish, .. } if publish.host_ip.is_some() => {
                Some("the address must be one of this host's own".into())
            }
            NetError::PastaFailed { .. } | NetError::Timeout { .. } => Some(
                "pasta needs a default route on the host to copy; `hutch -v run ...` shows its \
                 command line, or run with --net none"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What connects a sandbox's network namespace to the world: pasta, or with an allow-list
/// hutch's egress forwarder.
#[derive(Debug)]
pub enum Connector {
    Pasta(PathBuf),
    Egress,
}

impl Connector {
    /// Found before anything is started: a missing pasta is an error now.
    pub fn for_network(net: &UserNet) -> Result<Connector, NetError> {
        match net.egress {
            Some(_) => Ok(Connector::Egress),
            None => Ok(Connector::Pasta(locate_pasta()?)),
        }
    }

    /// Start it for the sandbox whose PID 1 is `target`, once `device_made` says the sandbox
    /// has made pasta's interface; it ends when the result is dropped.
    pub fn start(
        &self,
        net: &UserNet,
        target: i32,
        device_made: crate::channel::GoWaiter,
    ) -> Result<Link, NetError> {
        match (&net.egress, self) {
            (Some(plan), _) => Egress::start(plan, target).map(Link::Egress),
            (None, Connector::Pasta(program)) => {
                Pasta::start(program, net, target, device_made).map(Link::Pasta)
            }
            (None, Connector::Egress) => Err(NetError::PastaMissing),
        }
    }
}

/// A running connector (see [`Connector`]); stopped when dropped.
#[derive(Debug)]
pub enum Link {
    Pasta(Pasta),
    Egress(Egress),
}

/// pasta in `path` (a `$PATH` value).
pub fn find_pasta(path: &std::ffi::OsStr) -> Result<PathBuf, NetError> {
    crate::check::helpers::find_in_path("pasta", path).ok_or(NetError::PastaMissing)
}

/// pasta in this process's `$PATH`.
pub fn locate_pasta() -> Result<PathBuf, NetError> {
    find_pasta(&std::env::var_os("PATH").unwrap_or_default())
}

/// Fail early, with a message about the port, when a host port cannot be had: pasta itself only
/// says that it could not bind.
pub fn probe_host_ports(publish: &[Publish]) -> Result<(), NetError> {
    use std::io::ErrorKind;
    for p in publish {
        let ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        // Bound and dropped at once; TcpListener sets SO_REUSEADDR as pasta does, so only a
        // live listener counts as "in use", not connections lingering in TIME_WAIT.
        let result = match p.protocol {
            Protocol::Tcp => std::net::TcpListener::bind((ip, p.host_port)).map(drop),
            Protocol::Udp => std::net::UdpSocket::bind((ip, p.host_port)).map(drop),
        };
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                return Err(NetError::PortInUse { publish: *p })
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return Err(NetError::PortPrivileged { publish: *p })
            }
            Err(source) => {
                return Err(NetError::PortUnavailable {
                    publish: *p,
                    source,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(text: &str) -> Publish {
        text.parse().unwrap()
    }

    #[test]
    fn publish_specs_parse() {
        assert_eq!(
            publish("8080:80"),
            Publish {
                host_ip: None,
                host_port: 8080,
                port: 80,
                protocol: Protocol::Tcp
            }
        );
        let udp = publish("127.0.0.1:5353:53/udp");
        assert_eq!(udp.host_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(
            (udp.host_port, udp.port, udp.protocol),
            (5353, 53, Protocol::Udp)
        );
        let v6 = publish("[::1]:8443:443/tcp");
        assert_eq!(v6.host_ip, Some("::1".parse().unwrap()));
        assert_eq!(v6.to_string(), "[::1]:8443:443/tcp");
        assert_eq!(udp.to_string(), "127.0.0.1:5353:53/udp");
        assert_eq!(publish("8080:80").to_string(), "8080:80/tcp");
    }

    #[test]
    fn bad_publish_specs_say_what_is_wrong() {
        for (text, error) in [
            ("8080", PublishError::Format),
            ("a:b:c:d", PublishError::Format),
            ("::1:8080:80", PublishError::Format),
            ("[::1]8080:80", PublishError::Format),
            ("0:80", PublishError::Port("0".into())),
            ("8080:70000", PublishError::Port("70000".into())),
            ("8080:http", PublishError::Port("http".into())),
            (
                "localhost:8080:80",
                PublishError::Address("localhost".into()),
            ),
            ("8080:80/sctp", PublishError::Protocol("sctp".into())),
        ] {
            assert_eq!(text.parse::<Publish>(), Err(error), "{text}");
        }
    }

    #[test]
    fn pasta_specs_put_the_address_before_a_slash() {
        assert_eq!(publish("8080:80").pasta_spec(), "8080:80");
        assert_eq!(
            publish("127.0.0.1:8080:80").pasta_spec(),
            "127.0.0.1/8080:80"
        );
        assert_eq!(publish("[::1]:8080:80").pasta_spec(), "::1/8080:80");
        assert_eq!(
            publish("[::1]:8080:80/udp").describe(),
            "[::1]:8080 -> 80/udp"
        );
        assert_eq!(publish("8080:80").describe(), "*:8080 -> 80/tcp");
    }

    fn host() -> HostNet {
        HostNet {
            gateway: Some(Ipv4Addr::new(192, 0, 2, 1)),
            interface: Some("enp1s0".into()),
            search: vec!["example.org".into()],
            selinux_enforcing: false,
        }
    }

    #[test]
    fn the_sandbox_makes_pastas_interface_unless_selinux_enforces() {
        let net = UserNet::new(&[], false, &host());
        assert_eq!(net.pasta_device(), Some("enp1s0"));
        let confined = HostNet {
            selinux_enforcing: true,
            ..host()
        };
        let net = UserNet::new(&[], false, &confined);
        assert_eq!(net.pasta_device(), None);
        // pasta still names it as the sandbox would have.
        assert!(net
            .pasta_args(1, 3)
            .join(" ")
            .contains("--ns-ifname enp1s0"));
        let unnamed = UserNet::new(&[], false, &HostNet::default());
        assert_eq!(unnamed.pasta_device(), Some(FALLBACK_INTERFACE));
    }

    #[test]
    fn pasta_forwards_only_what_is_published() {
        let net = UserNet::new(
            &[
                publish("127.0.0.1:8080:80"),
                publish("9090:90"),
                publish("5353:53/udp"),
            ],
            false,
            &host(),
        );
        assert_eq!(
            net.pasta_args(4242, 7).join(" "),
            "--foreground --quiet --config-net --no-netns-quit --tcp-ports 127.0.0.1/8080:80 \
             --tcp-ports 9090:90 --udp-ports 5353:53 --tcp-ns none --udp-ns none --no-map-gw \
             --ns-ifname enp1s0 --dns-forward 192.0.2.1 --pid /proc/self/fd/7 4242"
        );
        let closed = UserNet::new(&[], false, &host()).pasta_args(1, 3);
        let joined = closed.join(" ");
        assert!(
            joined.contains("--tcp-ports none --udp-ports none --tcp-ns none --udp-ns none"),
            "{joined}"
        );
        assert!(joined.contains("--no-map-gw"));
    }

    #[test]
    fn host_loopback_is_opt_in_and_moves_dns_off_the_gateway() {
        let net = UserNet::new(&[], true, &host());
        let args = net.pasta_args(1, 3);
        assert!(!args.contains(&"--no-map-gw".to_owned()));
        assert_eq!(net.dns, LINK_LOCAL_DNS);
        let MountOp::File { contents, .. } = &net.files("box")[1] else {
            panic!("hosts is a file")
        };
        assert!(
            contents.contains("192.0.2.1\thost.hutch.internal\n"),
            "{contents}"
        );
        // Without a gateway there is nothing to name.
        let no_gateway = UserNet::new(&[], false, &HostNet::default());
        assert_eq!(no_gateway.dns, LINK_LOCAL_DNS);
    }

    #[test]
    fn files_name_the_forwarder_and_the_hostname() {
        let files = UserNet::new(&[], false, &host()).files("box");
        let [MountOp::File {
            dst: resolv_at,
            contents: resolv,
        }, MountOp::File {
            dst: hosts_at,
            contents: hosts,
        }] = &files[..]
        else {
            panic!("two files: {files:?}")
        };
        assert_eq!(resolv_at, Path::new("/etc/resolv.conf"));
        assert!(
            resolv.contains("nameserver 192.0.2.1\nsearch example.org\n"),
            "{resolv}"
        );
        assert_eq!(hosts_at, Path::new("/etc/hosts"));
        assert!(hosts.contains("127.0.1.1\tbox\n"), "{hosts}");
        assert!(!hosts.contains(HOST_NAME_INSIDE));
    }

    #[test]
    fn reads_the_default_gateway_and_search_list() {
        let table = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
";
        let expected = if cfg!(target_endian = "little") {
            Some(Ipv4Addr::new(192, 0, 2, 1))
        } else {
            Some(Ipv4Addr::new(1, 2, 0, 192))
        };
        assert_eq!(
            default_route(table),
            expected.map(|gateway| (gateway, "eth0".to_owned()))
        );
        // A name the kernel would not give an interface is not taken.
        assert_eq!(default_route(&table.replace("eth0", "a/b")), None);
        assert_eq!(
            default_route(
                table
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .as_str()
            ),
            None
        );
        assert_eq!(
            search_list("nameserver 10.0.0.1\ndomain a.example\nsearch b.example c.example\n"),
            ["b.example", "c.example"]
        );
        assert!(search_list("nameserver 10.0.0.1\n").is_empty());
    }

    #[test]
    fn a_taken_port_is_found_before_pasta_runs() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let taken = publish(&format!("127.0.0.1:{port}:80"));
        let err = probe_host_ports(&[taken]).unwrap_err();
        assert!(matches!(err, NetError::PortInUse { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("host port {port} is in use")));
        drop(listener);
        probe_host_ports(&[taken]).unwrap();
    }

    #[test]
    fn missing_pasta_names_the_package() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_pasta(empty.path().as_os_str()).unwrap_err();
        assert!(err.hint().unwrap().contains("apt install passt"));
    }
}
