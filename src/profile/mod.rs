//! Profiles: named, reusable sandbox policies written in TOML.
//!
//! A profile says what the sandbox sees (mounts), which environment passes, its network, its
//! hostname and its hardening. Built-ins live in `profiles/` and are embedded in the binary;
//! users add their own in `$XDG_CONFIG_HOME/hutch/profiles/`. `extends` chains are merged key by
//! key (lists appended), then `${VARIABLES}` expand. Every value keeps where it came from, so
//! an error can point at `file:line:col`. Turning a profile plus command-line flags into one
//! validated plan is `spec`'s job.

mod catalog;
mod source;
mod vars;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use catalog::{Catalog, Entry};
pub use source::{did_you_mean, At, Source};
pub use vars::Vars;

use crate::landlock::LandlockMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    Bind,
    RoBind,
    Tmpfs,
    Proc,
    Dev,
}

impl MountKind {
    pub fn name(&self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::RoBind => "ro-bind",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Proc => "proc",
            MountKind::Dev => "dev",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetMode {
    /// A network namespace of its own with only loopback.
    None,
    /// The host's network namespace.
    Host,
    /// A network namespace of its own, connected through pasta (user-mode networking).
    Pasta,
}

impl NetMode {
    pub fn name(&self) -> &'static str {
        match self {
            NetMode::None => "none",
            NetMode::Host => "host",
            NetMode::Pasta => "pasta",
        }
    }

    /// `none`, `host` or `pasta` (the `--net` values).
    pub fn from_name(name: &str) -> Option<NetMode> {
        match name {
            "none" => Some(NetMode::None),
            "host" => Some(NetMode::Host),
            "pasta" => Some(NetMode::Pasta),
            _ => None,
        }
    }

    /// Whether the sandbox gets a network namespace of its own.
    pub fn own_namespace(&self) -> bool {
        *self != NetMode::Host
    }
}

/// A value and the place in a profile it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: At,
}

// The file format. Spanned values remember their byte range for error messages.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    description: Option<String>,
    extends: Option<Spanned<String>>,
    hostname: Option<Spanned<String>>,
    capabilities: Option<Vec<Spanned<String>>>,
    map_root: Option<bool>,
    #[serde(default, rename = "mount")]
    mounts: Vec<Spanned<RawMount>>,
    #[serde(default)]
    limits: BTreeMap<String, Spanned<LimitValue>>,
    #[serde(default)]
    env: RawEnv,
    #[serde(default)]
    net: RawNet,
    #[serde(default)]
    landlock: RawLandlock,
    #[serde(default)]
    seccomp: RawSeccomp,
    #[serde(default)]
    secrets: RawSecrets,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    #[serde(default)]
    hide: Vec<Spanned<String>>,
    scrub_git_config: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMount {
    #[serde(rename = "type")]
    kind: MountKind,
    src: Option<Spanned<String>>,
    dst: Spanned<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    create: bool,
    mode: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    #[serde(default)]
    keep: Vec<String>,
    #[serde(default)]
    set: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    unset: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNet {
    mode: Option<NetMode>,
    publish: Option<Vec<Spanned<String>>>,
    host_loopback: Option<bool>,
    allow: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLandlock {
    mode: Option<LandlockMode>,
    tcp_bind: Option<Vec<u16>>,
    tcp_connect: Option<Vec<u16>>,
}

/// A `[limits]` value: a number (soft and hard), or "SOFT:HARD" / "unlimited".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum LimitValue {
    Number(u64),
    /// A fraction, as `cpus = 0.5` is written.
    Fraction(Fraction),
    Text(String),
}

/// A TOML float kept as the text it amounts to, so that a profile stays comparable (`Eq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fraction(pub String);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(|f| Fraction(f.to_string()))
    }
}

impl LimitValue {
    pub fn text(&self) -> String {
        match self {
            LimitValue::Number(n) => n.to_string(),
            LimitValue::Fraction(f) => f.0.clone(),
            LimitValue::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeccomp {
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    allow_socket_families: Vec<Spanned<String>>,
}

/// A profile with its `extends` chain merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The profiles merged into this one, the base first and this one last.
    pub chain: Vec<String>,
    pub description: String,
    pub hostname: Option<Located<String>>,
    pub capabilities: Option<Vec<Located<String>>>,
    /// Be uid 0 inside (`--map-root`).
    pub map_root: Option<bool>,
    pub mounts: Vec<MountEntry>,
    /// Resource limits by name (`--rlimit NAME=SOFT[:HARD]`).
    pub limits: BTreeMap<String, Located<LimitValue>>,
    pub env: EnvSection,
    pub net: Option<NetMode>,
    /// Ports published with `--net pasta` (`--publish`), as written; checked by `spec`.
    pub publish: Vec<Located<String>>,
    /// Whether the host's loopback is reachable with `--net pasta` (`--net-host-loopback`).
    pub host_loopback: Option<bool>,
    /// Names the sandbox may reach (`--allow-host`), as written; checked by `spec`.
    pub allow_hosts: Vec<Located<String>>,
    pub landlock: Option<LandlockMode>,
    /// TCP ports the sandbox may bind / connect to when it shares the host's network (Landlock
    /// ABI 4); `None`: not restricted.
    pub tcp_bind: Option<Vec<u16>>,
    pub tcp_connect: Option<Vec<u16>>,
    pub seccomp_deny: Vec<Located<String>>,
    pub seccomp_allow: Vec<Located<String>>,
    /// Credential files and directories hidden where they exist (`[secrets] hide`).
    pub hide: Vec<Located<String>>,
    /// Show the checkout's `.git/config` without tokens and credential helpers
    /// (`[secrets] scrub_git_config`).
    pub scrub_git_config: Option<bool>,
    /// Socket address families allowed on top of the default ones (`vsock`, `alg`, ...).
    pub seccomp_socket_families: Vec<Located<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub kind: MountKind,
    pub src: Option<Located<String>>,
    pub dst: Located<String>,
    /// Skip the mount when its source (or, for tmpfs, its destination) does not exist.
    pub optional: bool,
    /// Create a missing bind source as an empty directory of the user's (persistent state).
    pub create: bool,
    /// Permission bits of a tmpfs' root directory.
    pub mode: Option<u32>,
    /// The whole `[[mount]]` table, for errors about the mount as such.
    pub at: At,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSection {
    /// Host variables that pass into the sandbox; `*` matches any run of characters.
    pub keep: Vec<String>,
    pub set: BTreeMap<String, Located<String>>,
    /// Variables removed; `*` patterns as in `keep`.
    pub unset: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no profile named {name:?}")]
    NotFound {
        name: String,
        available: Vec<String>,
        user_dir: String,
    },
    #[error("cannot read profile {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax, type or unknown-key error, rendered with its location.
    #[error("{rendered}")]
    Invalid {
        rendered: String,
        hint: Option<String>,
    },
    #[error("profiles extend each other in a cycle: {}", chain.join(" -> "))]
    Cycle { chain: Vec<String> },
}

impl ProfileError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ProfileError::NotFound {
                name,
                available,
                user_dir,
            } => {
                let close = did_you_mean(name, available.iter().map(String::as_str))
                    .map(|close| format!("did you mean `{close}`? "))
                    .unwrap_or_default();
                Some(format!(
                    "{close}profiles that exist: {}; your own profiles go in {user_dir}",
                    available.join(", "),
                ))
            }
            ProfileError::Invalid { hint, .. } => hint.clone(),
            ProfileError::Cycle { .. } => Some("remove one of the `extends` keys".into()),
            ProfileError::Read { .. } => None,
        }
    }

    /// An error at a place in a profile.
    pub fn at(at: &At, message: &str, hint: Option<String>) -> ProfileError {
        ProfileError::Invalid {
            rendered: at.render(message),
            hint,
        }
    }
}

impl Profile {
    /// A profile from text hutch carries itself, for a purpose other than `--profile` (it may
    /// not extend another).
    pub fn from_builtin_text(name: &str, text: &str) -> Result<Profile, ProfileError> {
        let source = Arc::new(Source {
            name: name.to_owned(),
            path: None,
            text: text.to_owned(),
        });
        parse(&source).map(|(profile, _)| profile)
    }
}

/// Parse one profile's text; `extends` is returned, not followed.
fn parse(source: &Arc<Source>) -> Result<(Profile, Option<Located<String>>), ProfileError> {
    let raw: RawProfile = toml::from_str(&source.text).map_err(|e| parse_error(source, &e))?;
    let at = |span: std::ops::Range<usize>| At::new(source, span);
    let located = |s: Spanned<String>| Located {
        at: at(s.span()),
        value: s.into_inner(),
    };
    let extends = raw.extends.map(located);
    let profile = Profile {
        name: source.name.clone(),
        chain: vec![source.name.clone()],
        description: raw.description.unwrap_or_default(),
        hostname: raw.hostname.map(located),
        capabilities: raw
            .capabilities
            .map(|caps| caps.into_iter().map(located).collect()),
        map_root: raw.map_root,
        limits: raw
            .limits
            .into_iter()
            .map(|(name, value)| {
                (
                    name,
                    Located {
                        at: at(value.span()),
                        value: value.into_inner(),
                    },
                )
            })
            .collect(),
        mounts: raw
            .mounts
            .into_iter()
            .map(|m| {
                let table = at(m.span());
                let m = m.into_inner();
                MountEntry {
                    kind: m.kind,
                    src: m.src.map(located),
                    dst: located(m.dst),
                    optional: m.optional,
                    create: m.create,
                    mode: m.mode,
                    at: table,
                }
            })
            .collect(),
        env: EnvSection {
            keep: raw.env.keep,
            set: raw
                .env
                .set
                .into_iter()
                .map(|(k, v)| (k, located(v)))
                .collect(),
            unset: raw.env.unset,
        },
        net: raw.net.mode,
        publish: raw
            .net
            .publish
            .unwrap_or_default()
            .into_iter()
            .map(located)
            .collect(),
        host_loopback: raw.net.host_loopback,
        allow_hosts: raw
            .net
            .allow
            .unwrap_or_default()
            .into_iter()
            .map(located)
            .collect(),
        landlock: raw.landlock.mode,
        tcp_bind: raw.landlock.tcp_bind,
        tcp_connect: raw.landlock.tcp_connect,
        seccomp_deny: raw.seccomp.deny.into_iter().map(located).collect(),
        seccomp_allow: raw.seccomp.allow.into_iter().map(located).collect(),
        hide: raw.secrets.hide.into_iter().map(located).collect(),
        scrub_git_config: raw.secrets.scrub_git_config,
        seccomp_socket_families: raw
            .seccomp
            .allow_socket_families
            .into_iter()
            .map(located)
            .collect(),
    };
    Ok((profile, extends))
}

fn parse_error(source: &Source, error: &toml::de::Error) -> ProfileError {
    let message = error.message().trim_end();
    // serde says "unknown field `x`, expected one of `a`, `b`", or "unknown variant `x`, ..."
    // for a value such as `mode = "hots"`: offer the closest.
    let hint = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| {
            let (word, expected) = rest.split_once('`')?;
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            did_you_mean(word, candidates).map(|c| format!("did you mean `{c}`?"))
        });
    let rendered = match error.span() {
        Some(span) => source::render(source, span, &format!("invalid profile: {message}")),
        None => format!("invalid profile {}: {message}", source.describe()),
    };
    ProfileError::Invalid { rendered, hint }
}

impl Profile {
    /// `child` on top of `self`: scalars replace, lists append, tables merge key by key.
    fn merged_with(mut self, child: Profile) -> Profile {
        self.chain.extend(child.chain);
        self.name = child.name;
        if !child.description.is_empty() {
            self.description = child.description;
        }
        self.hostname = child.hostname.or(self.hostname);
        self.capabilities = match (self.capabilities, child.capabilities) {
            (Some(mut base), Some(extra)) => {
                base.extend(extra);
                Some(base)
            }
            (base, extra) => extra.or(base),
        };
        self.map_root = child.map_root.or(self.map_root);
        self.mounts.extend(child.mounts);
        self.limits.extend(child.limits);
        let append = |base: Option<Vec<u16>>, extra: Option<Vec<u16>>| match (base, extra) {
            (Some(mut base), Some(extra)) => {
                base.extend(extra);
                Some(base)
            }
            (base, extra) => extra.or(base),
        };
        self.tcp_bind = append(self.tcp_bind, child.tcp_bind);
        self.tcp_connect = append(self.tcp_connect, child.tcp_connect);
        self.env.keep.extend(child.env.keep);
        self.env.set.extend(child.env.set);
        self.env.unset.extend(child.env.unset);
        self.net = child.net.or(self.net);
        self.publish.extend(child.publish);
        self.host_loopback = child.host_loopback.or(self.host_loopback);
        self.allow_hosts.extend(child.allow_hosts);
        self.landlock = child.landlock.or(self.landlock);
        self.seccomp_deny.extend(child.seccomp_deny);
        self.seccomp_allow.extend(child.seccomp_allow);
        self.hide.extend(child.hide);
        self.scrub_git_config = child.scrub_git_config.or(self.scrub_git_config);
        self.seccomp_socket_families
            .extend(child.seccomp_socket_families);
        self
    }

    /// The profile with every `${VARIABLE}` replaced by its value on this host.
    pub fn expanded(&self, vars: &Vars) -> Result<Profile, ProfileError> {
        let expand = |l: &Located<String>| -> Result<Located<String>, ProfileError> {
            Ok(Located {
                value: vars.expand(&l.value, &l.at)?,
                at: l.at.clone(),
            })
        };
        let mut out = self.clone();
        out.hostname = self.hostname.as_ref().map(expand).transpose()?;
        for mount in &mut out.mounts {
            mount.src = mount.src.as_ref().map(expand).transpose()?;
            mount.dst = expand(&mount.dst)?;
        }
        for value in out.env.set.values_mut() {
            *value = expand(value)?;
        }
        for path in &mut out.hide {
            *path = expand(path)?;
        }
        Ok(out)
    }

    /// The profile as TOML (for `hutch profile show --resolved`), in the file format.
    pub fn to_toml(&self) -> String {
        use toml::{Table, Value};
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let located = |v: &[Located<String>]| {
            Value::Array(v.iter().map(|l| Value::String(l.value.clone())).collect())
        };
        let mut top = Table::new();
        top.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        if let Some(hostname) = &self.hostname {
            top.insert("hostname".into(), Value::String(hostname.value.clone()));
        }
        if let Some(caps) = &self.capabilities {
            top.insert("capabilities".into(), located(caps));
        }
        if let Some(map_root) = self.map_root {
            top.insert("map_root".into(), Value::Boolean(map_root));
        }
        let mounts = self
            .mounts
            .iter()
            .map(|m| {
                let mut t = Table::new();
                t.insert("type".into(), Value::String(m.kind.name().into()));
                if let Some(src) = &m.src {
                    t.insert("src".into(), Value::String(src.value.clone()));
                }
                t.insert("dst".into(), Value::String(m.dst.value.clone()));
                if m.optional {
                    t.insert("optional".into(), Value::Boolean(true));
                }
                if m.create {
                    t.insert("create".into(), Value::Boolean(true));
                }
                if let Some(mode) = m.mode {
                    t.insert("mode".into(), Value::Integer(mode.into()));
                }
                Value::Table(t)
            })
            .collect();
        top.insert("mount".into(), Value::Array(mounts));
        let mut env = Table::new();
        env.insert("keep".into(), strings(&self.env.keep));
        let set = self
            .env
            .set
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.value.clone())))
            .collect();
        env.insert("set".into(), Value::Table(set));
        env.insert("unset".into(), strings(&self.env.unset));
        top.insert("env".into(), Value::Table(env));
        let mut net = Table::new();
        if let Some(mode) = self.net {
            net.insert("mode".into(), Value::String(mode.name().into()));
        }
        if !self.publish.is_empty() {
            net.insert("publish".into(), located(&self.publish));
        }
        if let Some(host_loopback) = self.host_loopback {
            net.insert("host_loopback".into(), Value::Boolean(host_loopback));
        }
        if !self.allow_hosts.is_empty() {
            net.insert("allow".into(), located(&self.allow_hosts));
        }
        top.insert("net".into(), Value::Table(net));
        let mut limits = Table::new();
        for (name, value) in &self.limits {
            let v = match &value.value {
                LimitValue::Number(n) => Value::Integer(i64::try_from(*n).unwrap_or(i64::MAX)),
                LimitValue::Fraction(f) => {
                    f.0.parse()
                        .map_or_else(|_| Value::String(f.0.clone()), Value::Float)
                }
                LimitValue::Text(t) => Value::String(t.clone()),
            };
            limits.insert(name.clone(), v);
        }
        top.insert("limits".into(), Value::Table(limits));
        let mut landlock = Table::new();
        if let Some(mode) = self.landlock {
            landlock.insert("mode".into(), Value::String(mode.to_string()));
        }
        let ports = |p: &[u16]| Value::Array(p.iter().map(|&n| Value::Integer(n.into())).collect());
        if let Some(bind) = &self.tcp_bind {
            landlock.insert("tcp_bind".into(), ports(bind));
        }
        if let Some(connect) = &self.tcp_connect {
            landlock.insert("tcp_connect".into(), ports(connect));
        }
        top.insert("landlock".into(), Value::Table(landlock));
        let mut seccomp = Table::new();
        seccomp.insert("deny".into(), located(&self.seccomp_deny));
        seccomp.insert("allow".into(), located(&self.seccomp_allow));
        seccomp.insert(
            "allow_socket_families".into(),
            located(&self.seccomp_socket_families),
        );
        top.insert("seccomp".into(), Value::Table(seccomp));
        let mut secrets = Table::new();
        if !self.hide.is_empty() {
            secrets.insert("hide".into(), located(&self.hide));
        }
        if let Some(scrub) = self.scrub_git_config {
            secrets.insert("scrub_git_config".into(), Value::Boolean(scrub));
        }
        if !secrets.is_empty() {
            top.insert("secrets".into(), Value::Table(secrets));
        }
        let mut text = format!("# profile {} = {}\n", self.name, self.chain.join(" + "));
        let body = toml::to_string(&top).expect("a table of plain values serializes");
        // Permission bits read best in octal, as the built-in files write them.
        for line in body.lines() {
            match line
                .strip_prefix("mode = ")
                .and_then(|m| m.parse::<u32>().ok())
            {
                Some(mode) => text.push_str(&format!("mode = 0o{mode:o}\n")),
                None => {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests;
