//! The egress allow-list (`--allow-host NAME[:PORT]`, profile `[net] allow`) and the plan the
//! forwarder is built from: which names are allowed on which ports, and which address and port
//! inside the sandbox stands for each.
//!
//! Matching is on names, never on addresses: many names share one address (CDNs, virtual hosts,
//! intercepting proxies), so an address says nothing about which of them a connection is for.
//! A name without a port is allowed for HTTP (80) and HTTPS (443), where the protocol itself
//! names the host (Host header, CONNECT target, TLS SNI). Any other port carries bytes hutch
//! cannot read a name from, so it is allowed only for a name listed with it, and reached through
//! an address of that name's own: the address the connection was made to is then the name.

use std::fmt;
use std::net::Ipv4Addr;

/// The address inside the sandbox where hutch's forwarder answers DNS, HTTP, HTTPS and proxy
/// requests; every allowed name without a port of its own resolves to it. Inside 127.0.0.0/8,
/// which the kernel routes to the loopback interface without any configuration.
pub const FORWARDER: Ipv4Addr = Ipv4Addr::new(127, 77, 0, 1);

/// Ports whose protocol names the host: HTTP (Host, CONNECT, absolute URI) and TLS (SNI).
pub const HTTP_PORT: u16 = 80;
pub const TLS_PORT: u16 = 443;

/// How many names may have ports of their own (each takes an address of 127.77.1.0/24 and up).
const MAX_OWN_ADDRESSES: usize = 250 * 200;

/// One `--allow-host` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AllowHost {
    /// Lower-case, without a trailing dot; for a wildcard, the part after `*.`.
    pub name: String,
    /// `*.example.org`: every name under example.org, not example.org itself.
    pub wildcard: bool,
    /// `None`: HTTP and HTTPS (80 and 443).
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowError {
    #[error("{0:?} is not a host name")]
    Name(String),
    #[error("{0:?} is not a port (1 to 65535)")]
    Port(String),
    #[error("{0:?} is an address: egress is allowed by name")]
    Address(String),
    #[error(
        "a wildcard cannot have port {port}: only HTTP (80) and HTTPS (443) say which name they \
         are for"
    )]
    WildcardPort { entry: String, port: u16 },
    #[error("more than {MAX_OWN_ADDRESSES} names with ports of their own")]
    TooMany,
}

impl AllowError {
    pub fn hint(&self) -> String {
        match self {
            AllowError::WildcardPort { .. } => {
                "list each name with its port, e.g. --allow-host db1.example.org:5432".into()
            }
            AllowError::Address(_) => "give the name the address stands for".into(),
            _ => "e.g. --allow-host pypi.org, --allow-host '*.debian.org', --allow-host \
                  db.example.org:5432"
                .into(),
        }
    }
}

impl std::str::FromStr for AllowHost {
    type Err = AllowError;

    fn from_str(text: &str) -> Result<AllowHost, AllowError> {
        if text.parse::<std::net::IpAddr>().is_ok() || text.starts_with('[') {
            return Err(AllowError::Address(text.to_owned()));
        }
        let (name, port) = match text.rsplit_once(':') {
            Some((name, port)) => match port.parse::<u16>() {
                Ok(p) if p > 0 => (name, Some(p)),
                _ => return Err(AllowError::Port(port.to_owned())),
            },
            None => (text, None),
        };
        let (wildcard, bare) = match name.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let bare = normalize(bare).ok_or_else(|| AllowError::Name(name.to_owned()))?;
        if bare.parse::<Ipv4Addr>().is_ok() {
            return Err(AllowError::Address(text.to_owned()));
        }
        if let (true, Some(port)) = (wildcard, port) {
            if port != HTTP_PORT && port != TLS_PORT {
                return Err(AllowError::WildcardPort {
                    entry: text.to_owned(),
                    port,
                });
            }
        }
        Ok(AllowHost {
            name: bare,
            wildcard,
            port,
        })
    }
}

impl fmt::Display for AllowHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.name)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// `name` as compared: lower-case, no trailing dot; `None` unless it is a DNS name of letters,
/// digits, `-` and `_` in labels of 1 to 63 characters, 253 at most in all.
pub fn normalize(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (!name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)).then_some(name)
}

impl AllowHost {
    fn matches_name(&self, name: &str) -> bool {
        if self.wildcard {
            name.strip_suffix(&self.name)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            name == self.name
        }
    }

    fn matches(&self, name: &str, port: u16) -> bool {
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == HTTP_PORT || port == TLS_PORT,
        };
        port_ok && self.matches_name(name)
    }

    /// A port that needs an address of the name's own (not 80 or 443).
    fn own_port(&self) -> Option<u16> {
        self.port.filter(|p| *p != HTTP_PORT && *p != TLS_PORT)
    }
}

/// What a listener inside the sandbox does with a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    /// HTTP: the name from CONNECT, an absolute URI or the Host header.
    Http,
    /// TLS: the name from the ClientHello's server_name.
    Tls,
    /// Any protocol: the connection is for this name and port (its own address says so).
    Raw { name: String, port: u16 },
}

/// A TCP listener inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub address: Ipv4Addr,
    pub port: u16,
    pub service: Service,
}

/// The allow-list and where everything is inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPlan {
    pub allow: Vec<AllowHost>,
    /// Names with ports of their own, and their addresses.
    own_addresses: Vec<(String, Ipv4Addr)>,
}

impl EgressPlan {
    pub fn new(allow: &[AllowHost]) -> Result<EgressPlan, AllowError> {
        let mut own_addresses: Vec<(String, Ipv4Addr)> = Vec::new();
        for entry in allow {
            if entry.own_port().is_some() && !own_addresses.iter().any(|(n, _)| *n == entry.name) {
                let index = own_addresses.len();
                if index >= MAX_OWN_ADDRESSES {
                    return Err(AllowError::TooMany);
                }
                let address =
                    Ipv4Addr::new(127, 77, 1 + (index / 250) as u8, 1 + (index % 250) as u8);
                own_addresses.push((entry.name.clone(), address));
            }
        }
        Ok(EgressPlan {
            allow: allow.to_vec(),
            own_addresses,
        })
    }

    /// Whether a connection for `name` (normalised) on `port` may go out.
    pub fn allows(&self, name: &str, port: u16) -> bool {
        self.allow.iter().any(|e| e.matches(name, port))
    }

    /// The address the sandbox's DNS gives `name` (normalised), or `None`: not allowed at all.
    pub fn address_of(&self, name: &str) -> Option<Ipv4Addr> {
        if let Some((_, address)) = self.own_addresses.iter().find(|(n, _)| n == name) {
            return Some(*address);
        }
        self.allow
            .iter()
            .any(|e| e.matches_name(name))
            .then_some(FORWARDER)
    }

    /// Every listener the forwarder opens inside the sandbox: HTTP and HTTPS at every address
    /// (the names there may also be allowed without a port), and each own port at its name's.
    pub fn listeners(&self) -> Vec<Listener> {
        let mut out = Vec::new();
        let addresses = std::iter::once(FORWARDER).chain(self.own_addresses.iter().map(|a| a.1));
        for address in addresses {
            out.push(Listener {
                address,
                port: HTTP_PORT,
                service: Service::Http,
            });
            out.push(Listener {
                address,
                port: TLS_PORT,
                service: Service::Tls,
            });
        }
        for entry in &self.allow {
            let Some(port) = entry.own_port() else {
                continue;
            };
            let address = self.address_of(&entry.name).expect("own address assigned");
            let listener = Listener {
                address,
                port,
                service: Service::Raw {
                    name: entry.name.clone(),
                    port,
                },
            };
            if !out.contains(&listener) {
                out.push(listener);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(text: &str) -> AllowHost {
        text.parse().unwrap()
    }

    fn plan(entries: &[&str]) -> EgressPlan {
        EgressPlan::new(&entries.iter().map(|e| allow(e)).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn entries_parse_and_print_canonically() {
        assert_eq!(
            allow("PyPI.org."),
            AllowHost {
                name: "pypi.org".into(),
                wildcard: false,
                port: None
            }
        );
        assert_eq!(allow("*.Debian.org:443").to_string(), "*.debian.org:443");
        assert_eq!(allow("db.example:5432").port, Some(5432));
        for (text, error) in [
            ("", AllowError::Name("".into())),
            ("a..b", AllowError::Name("a..b".into())),
            ("a b", AllowError::Name("a b".into())),
            ("*", AllowError::Name("*".into())),
            ("a.*.b", AllowError::Name("a.*.b".into())),
            ("a:0", AllowError::Port("0".into())),
            ("a:http", AllowError::Port("http".into())),
            ("1.2.3.4", AllowError::Address("1.2.3.4".into())),
            ("1.2.3.4:22", AllowError::Address("1.2.3.4:22".into())),
            ("::1", AllowError::Address("::1".into())),
            ("[::1]:80", AllowError::Address("[::1]:80".into())),
            (
                "*.example.org:5432",
                AllowError::WildcardPort {
                    entry: "*.example.org:5432".into(),
                    port: 5432,
                },
            ),
        ] {
            assert_eq!(text.parse::<AllowHost>(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn names_match_exactly_and_wildcards_only_below() {
        let p = plan(&["a.test", "*.example.org"]);
        assert!(p.allows("a.test", 443));
        assert!(p.allows("a.test", 80));
        assert!(!p.allows("a.test", 22));
        assert!(!p.allows("b.test", 443));
        assert!(!p.allows("xa.test", 443));
        assert!(!p.allows("a.test.evil", 443));
        assert!(p.allows("deb.example.org", 443));
        assert!(p.allows("a.b.example.org", 80));
        assert!(
            !p.allows("example.org", 443),
            "the apex is not below itself"
        );
        assert!(!p.allows("badexample.org", 443));
        assert_eq!(p.address_of("a.test"), Some(FORWARDER));
        assert_eq!(p.address_of("x.example.org"), Some(FORWARDER));
        assert_eq!(p.address_of("b.test"), None);
    }

    #[test]
    fn a_port_limits_the_name_to_it() {
        let p = plan(&["a.test:443", "db.test:5432", "db.test:6432", "c.test:8443"]);
        assert!(p.allows("a.test", 443));
        assert!(!p.allows("a.test", 80));
        assert!(p.allows("db.test", 5432));
        assert!(!p.allows("db.test", 443));
        let db = p.address_of("db.test").unwrap();
        let c = p.address_of("c.test").unwrap();
        assert_ne!(db, FORWARDER);
        assert_ne!(db, c);
        let listeners = p.listeners();
        assert!(listeners.contains(&Listener {
            address: db,
            port: 5432,
            service: Service::Raw {
                name: "db.test".into(),
                port: 5432
            }
        }));
        assert!(listeners.contains(&Listener {
            address: db,
            port: 6432,
            service: Service::Raw {
                name: "db.test".into(),
                port: 6432
            }
        }));
        // HTTP and HTTPS at the forwarder and at each own address; two own ports; one more.
        assert_eq!(listeners.len(), 2 * 3 + 3);
        assert!(listeners
            .iter()
            .any(|l| l.address == FORWARDER && l.port == 443 && l.service == Service::Tls));
    }
}
