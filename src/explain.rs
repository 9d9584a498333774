//! `hutch run --explain`: the resolved plan, as text for people and JSON for tools.
//!
//! Everything shown comes from the same values the launcher applies (the spec and the prepared
//! mount plan, Landlock rules and seccomp policy), so the explanation cannot drift from what
//! runs. What this kernel will not enforce is said, never glossed over.

use std::fmt::Write;

use serde::Serialize;

use crate::landlock::{self, KernelSupport, LandlockMode};
use crate::profile::NetMode;
use crate::sandbox::Hardening;
use crate::seccomp::{self, Condition};
use crate::spec::SandboxSpec;

#[derive(Debug, Serialize)]
pub struct Plan {
    pub command: Vec<String>,
    pub namespaces: Vec<&'static str>,
    pub uid_map: String,
    pub gid_map: String,
    pub setgroups: &'static str,
    pub hostname: String,
    pub workdir: String,
    pub mounts: Vec<String>,
    pub landlock: LandlockPlan,
    pub seccomp: SeccompPlan,
    pub capabilities: Vec<&'static str>,
    pub no_new_privs: bool,
    pub environment: Vec<String>,
    /// Host variables and paths kept from the sandbox, and why: names, never values.
    pub hidden: crate::secrets::Hidden,
    pub limits: Vec<String>,
    /// cgroup v2 interface files of the sandbox's leaf and their values (`--memory` …).
    pub cgroup: Vec<(String, String)>,
    pub network: NetworkPlan,
}

#[derive(Debug, Serialize)]
pub struct NetworkPlan {
    /// none, host or pasta.
    pub mode: &'static str,
    /// Where pasta is, with --net pasta; null when it is not installed (the run would fail).
    pub helper: Option<String>,
    /// Published ports: `127.0.0.1:8080 -> 80/tcp`, `*` for every host address.
    pub publish: Vec<String>,
    /// Whether services on the host's loopback can be reached, and where.
    pub host_loopback: String,
    /// The nameserver the sandbox's resolv.conf names (pasta only).
    pub dns: Option<String>,
    /// `--allow-host`: the only names the sandbox can reach, through hutch's forwarder;
    /// null without an allow-list.
    pub allow_hosts: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct LandlockPlan {
    pub mode: String,
    /// The kernel's ABI version, or why there is none.
    pub kernel: String,
    /// Features hutch asks for that this kernel does not enforce.
    pub not_enforced: Vec<&'static str>,
    pub rules: Vec<LandlockRule>,
    /// TCP ports that may be bound / connected to; absent when not restricted.
    pub tcp_bind: Option<Vec<u16>>,
    pub tcp_connect: Option<Vec<u16>>,
    pub scoped: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct LandlockRule {
    pub path: String,
    pub access: &'static str,
    /// The rule above that grants as much already, so that no rule is added for this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SeccompPlan {
    /// Calls that fail with EPERM, with the condition when there is one.
    pub eperm: Vec<SeccompRule>,
    pub enosys: Vec<String>,
    pub kill: Vec<&'static str>,
    /// Built-in rules the profile removed.
    pub allowed_by_profile: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SeccompRule {
    pub syscall: String,
    pub when: String,
    pub why: &'static str,
}

fn network_plan(spec: &SandboxSpec, hardening: &Hardening) -> NetworkPlan {
    let user_net = hardening.network.as_ref();
    NetworkPlan {
        mode: spec.net.name(),
        helper: user_net.and_then(|net| match net.egress {
            Some(_) => Some("hutch's egress forwarder".into()),
            None => crate::net::locate_pasta()
                .ok()
                .map(|p| p.display().to_string()),
        }),
        publish: spec
            .publish
            .iter()
            .map(crate::net::Publish::describe)
            .collect(),
        host_loopback: match (spec.net, user_net) {
            (NetMode::Host, _) => "reachable (the host's network)".into(),
            (_, Some(net)) if net.host_loopback => match net.gateway {
                Some(gateway) => format!(
                    "reachable at the gateway, {gateway} ({})",
                    crate::net::HOST_NAME_INSIDE
                ),
                None => "reachable at the gateway address".into(),
            },
            _ => "not reachable".into(),
        },
        dns: user_net.map(|net| net.dns.to_string()),
        allow_hosts: user_net
            .and_then(|net| net.egress.as_ref())
            .map(|plan| plan.allow.iter().map(|a| a.to_string()).collect()),
    }
}

impl Plan {
    pub fn new(spec: &SandboxSpec, hardening: &Hardening) -> Plan {
        let support = landlock::kernel_support();
        let landlock_on = spec.landlock != LandlockMode::Off;
        let landlock = LandlockPlan {
            mode: spec.landlock.to_string(),
            kernel: match support {
                KernelSupport::Abi(abi) => format!("ABI {abi}"),
                KernelSupport::NotEnabled => {
                    "built in, not enabled at boot (add landlock to lsm=)".into()
                }
                KernelSupport::NotBuiltIn => "not built into this kernel".into(),
            },
            not_enforced: if landlock_on {
                landlock::missing_features(support)
            } else {
                Vec::new()
            },
            rules: if landlock_on {
                hardening
                    .landlock_rules
                    .iter()
                    .zip(landlock::covered_by(&hardening.landlock_rules))
                    .map(|(r, covered_by)| LandlockRule {
                        path: r.path.display().to_string(),
                        access: r.grant.name(),
                        covered_by: covered_by.map(|p| p.display().to_string()),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            tcp_bind: spec.tcp_ports.bind.clone().filter(|_| landlock_on),
            tcp_connect: spec.tcp_ports.connect.clone().filter(|_| landlock_on),
            scoped: match (landlock_on, support) {
                (true, KernelSupport::Abi(abi)) if abi >= 6 => spec.landlock_scopes.names(),
                _ => Vec::new(),
            },
        };
        let seccomp = SeccompPlan {
            eperm: spec
                .seccomp
                .rules
                .iter()
                .map(|r| SeccompRule {
                    syscall: r.syscall.clone(),
                    when: match r.when {
                        Condition::Always => "always".into(),
                        Condition::IoctlRequest(0x5412) => "request TIOCSTI".into(),
                        Condition::IoctlRequest(0x541C) => "request TIOCLINUX".into(),
                        Condition::IoctlRequest(other) => format!("request {other:#x}"),
                        Condition::FlagsInFirstArg(bits) if bits == libc::CLONE_NEWUSER as u64 => {
                            "flags include CLONE_NEWUSER".into()
                        }
                        Condition::FlagsInFirstArg(bits) => format!("flags include {bits:#x}"),
                        Condition::PersonalityFlag(seccomp::READ_IMPLIES_EXEC) => {
                            "sets READ_IMPLIES_EXEC".into()
                        }
                        Condition::PersonalityFlag(seccomp::MMAP_PAGE_ZERO) => {
                            "sets MMAP_PAGE_ZERO".into()
                        }
                        Condition::PersonalityFlag(flag) => format!("sets {flag:#x}"),
                        Condition::SocketFamilyNotIn(families) => format!(
                            "family other than {}; seccomp.allow_socket_families adds one",
                            seccomp::family_names(families).join(", ")
                        ),
                    },
                    why: r.why,
                })
                .collect(),
            enosys: spec
                .seccomp
                .enosys
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
            kill: vec!["x32 ABI calls", "calls of foreign architectures"],
            allowed_by_profile: spec.seccomp.allowed.clone(),
        };
        Plan {
            command: spec
                .argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            namespaces: match spec.net {
                NetMode::None => vec![
                    "user",
                    "mount",
                    "pid",
                    "ipc",
                    "uts",
                    "net (loopback only)",
                    "cgroup",
                ],
                NetMode::Pasta => vec![
                    "user",
                    "mount",
                    "pid",
                    "ipc",
                    "uts",
                    "net (connected through pasta)",
                    "cgroup",
                ],
                NetMode::Host => vec![
                    "user",
                    "mount",
                    "pid",
                    "ipc",
                    "uts",
                    "cgroup (network: the host's)",
                ],
            },
            uid_map: spec.ids.render_uid_map().trim_end().to_owned(),
            gid_map: spec.ids.render_gid_map().trim_end().to_owned(),
            setgroups: "deny",
            hostname: spec.hostname.clone(),
            workdir: spec.workdir.display().to_string(),
            mounts: hardening
                .mount_ops
                .iter()
                .map(ToString::to_string)
                .collect(),
            landlock,
            seccomp,
            capabilities: spec.capabilities.names(),
            no_new_privs: true,
            environment: spec
                .env
                .iter()
                .map(|e| e.to_string_lossy().into_owned())
                .collect(),
            hidden: spec.hidden.clone(),
            limits: spec.limits.iter().map(ToString::to_string).collect(),
            cgroup: spec
                .resources
                .files()
                .into_iter()
                .map(|(file, value)| (file.to_owned(), value))
                .collect(),
            network: network_plan(spec, hardening),
        }
    }

    fn network_text(&self, w: &mut String) {
        let n = &self.network;
        let what = match n.mode {
            "none" => "a namespace of its own, loopback only".to_owned(),
            "host" => "the host's network".to_owned(),
            _ => format!(
                "a namespace of its own, connected through {}",
                n.helper
                    .as_deref()
                    .unwrap_or("pasta (NOT FOUND: install the passt package)")
            ),
        };
        let _ = writeln!(w, "network:      {} ({what})", n.mode);
        if n.mode == "pasta" {
            let published = if n.publish.is_empty() {
                "none".to_owned()
            } else {
                n.publish.join(", ")
            };
            let _ = writeln!(w, "  published:  {published}");
        }
        let _ = writeln!(w, "  host loopback: {}", n.host_loopback);
        if let Some(allow) = &n.allow_hosts {
            let _ = writeln!(
                w,
                "  egress:     only {} (matched by name: TLS server name, HTTP Host or \
                 CONNECT; other ports only where listed; no route but the forwarder)",
                allow.join(", ")
            );
        }
        match (&n.dns, &n.allow_hosts) {
            (Some(dns), Some(_)) => {
                let _ = writeln!(
                    w,
                    "  DNS:        {dns} (hutch answers the allowed names only)"
                );
            }
            (Some(dns), None) => {
                let _ = writeln!(
                    w,
                    "  DNS:        {dns} (pasta forwards to the host's resolver)"
                );
            }
            _ => {}
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the plan is plain data");
        text.push('\n');
        text
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let list = |items: &[&str]| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(", ")
            }
        };
        let _ = writeln!(
            w,
            "command:      {}",
            if self.command.is_empty() {
                "(none)".into()
            } else {
                self.command.join(" ")
            }
        );
        let _ = writeln!(w, "namespaces:   {}", self.namespaces.join(", "));
        let _ = writeln!(w, "uid map:      {} (inside outside count)", self.uid_map);
        let _ = writeln!(
            w,
            "gid map:      {} (setgroups {})",
            self.gid_map, self.setgroups
        );
        let _ = writeln!(w, "hostname:     {}", self.hostname);
        self.network_text(w);
        let _ = writeln!(w, "workdir:      {}", self.workdir);
        let _ = writeln!(
            w,
            "mounts, in order (binds are recursive, nosuid and nodev):"
        );
        for (i, mount) in self.mounts.iter().enumerate() {
            let _ = writeln!(w, "  {:>2}. {mount}", i + 1);
        }
        let l = &self.landlock;
        let _ = writeln!(w, "landlock:     {} (kernel: {})", l.mode, l.kernel);
        if !l.not_enforced.is_empty() {
            let _ = writeln!(
                w,
                "  NOT enforced by this kernel: {}",
                l.not_enforced.join(", ")
            );
        }
        for rule in &l.rules {
            match &rule.covered_by {
                Some(above) => {
                    let _ = writeln!(
                        w,
                        "  {:<28} {} (no rule of its own: {above} grants as much)",
                        rule.path, rule.access
                    );
                }
                None => {
                    let _ = writeln!(w, "  {:<28} {}", rule.path, rule.access);
                }
            }
        }
        for (what, ports) in [("TCP bind", &l.tcp_bind), ("TCP connect", &l.tcp_connect)] {
            if let Some(ports) = ports {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                let _ = writeln!(
                    w,
                    "  {what} only to ports: {}",
                    if list.is_empty() {
                        "none".into()
                    } else {
                        list.join(", ")
                    }
                );
            }
        }
        if l.mode != "off" {
            let _ = writeln!(w, "  scoped:     {}", list(&l.scoped));
        }
        let s = &self.seccomp;
        let _ = writeln!(w, "seccomp:      deny-list; these fail with EPERM:");
        for rule in &s.eperm {
            let when = if rule.when == "always" {
                String::new()
            } else {
                format!(" ({})", rule.when)
            };
            let _ = writeln!(w, "  {}{when}: {}", rule.syscall, rule.why);
        }
        let _ = writeln!(
            w,
            "  ENOSYS: {}; killed: {}",
            s.enosys.join(", "),
            s.kill.join(", ")
        );
        if !s.allowed_by_profile.is_empty() {
            let _ = writeln!(
                w,
                "  allowed by the profile: {}",
                s.allowed_by_profile.join(", ")
            );
        }
        let _ = writeln!(
            w,
            "capabilities: {} (bounding, ambient and inheritable sets empty otherwise)",
            list(&self.capabilities)
        );
        let _ = writeln!(
            w,
            "no_new_privs: {}",
            if self.no_new_privs { "yes" } else { "no" }
        );
        let _ = writeln!(
            w,
            "limits:       {}",
            if self.limits.is_empty() {
                "inherited from hutch".into()
            } else {
                self.limits.join(", ")
            }
        );
        let _ = writeln!(
            w,
            "cgroup:       {}",
            if self.cgroup.is_empty() {
                "hutch's own (no cgroup limits)".into()
            } else {
                let files: Vec<String> = self
                    .cgroup
                    .iter()
                    .map(|(f, v)| format!("{f}={v}"))
                    .collect();
                format!(
                    "a leaf of your delegated cgroup, in a cgroup namespace: {}",
                    files.join(", ")
                )
            }
        );
        let _ = writeln!(w, "environment:");
        for entry in &self.environment {
            let _ = writeln!(w, "  {entry}");
        }
        if !self.hidden.variables.is_empty() {
            let _ = writeln!(w, "hidden variables (names only):");
            for item in &self.hidden.variables {
                let _ = writeln!(w, "  {}: {}", item.name, item.why);
            }
        }
        if !self.hidden.paths.is_empty() {
            let _ = writeln!(w, "hidden paths:");
            for item in &self.hidden.paths {
                let _ = writeln!(w, "  {}: {}", item.name, item.why);
            }
        }
        out
    }
}
