//! The validated sandbox specification: a profile, the command-line flags and the host's facts
//! merged into one plan. Everything below the CLI takes a [`SandboxSpec`] and nothing else, so
//! every bad input is found here, before a namespace or mount exists.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::caps::{self, CapSet, CapsError};
use crate::cgroup::{ResourceError, ResourceFlags, Resources};
use crate::environ::{self, EnvRules};
use crate::idmap::IdMapping;
use crate::landlock::{LandlockMode, Scopes, TcpPorts};
use crate::limits::{self, Limit, LimitError};
use crate::mounts::Mount;
use crate::net::{Publish, PublishError};
#[cfg(test)]
use crate::profile::Catalog;
use crate::profile::{Located, MountKind, NetMode, Profile, ProfileError, Vars};
use crate::seccomp::{self, SeccompError, SeccompPolicy};
use crate::secrets::{self, Hidden};
use crate::subid::{self, IdPlan};

/// What the user asked for on the command line, before validation.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub profile: String,
    /// Mount flags in command-line order, so later ones stack on earlier ones.
    pub mounts: Vec<MountFlag>,
    pub chdir: Option<PathBuf>,
    pub hostname: Option<String>,
    pub env: Vec<String>,
    pub unsetenv: Vec<String>,
    pub clearenv: bool,
    pub map_root: bool,
    pub landlock: Option<LandlockMode>,
    pub net: Option<NetMode>,
    /// `--publish [IP:]HOSTPORT:PORT[/tcp|/udp]` flags, as given.
    pub publish: Vec<String>,
    /// `--net-host-loopback`.
    pub host_loopback: bool,
    /// `--allow-host NAME[:PORT]` flags, as given.
    pub allow_hosts: Vec<String>,
    /// `--rlimit NAME=SOFT[:HARD]` flags.
    pub rlimits: Vec<String>,
    /// `--memory`, `--pids`, `--cpus`… (cgroup v2 limits), as given.
    pub resources: ResourceFlags,
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountFlag {
    Bind(String),
    RoBind(String),
    Tmpfs(String),
}

impl MountFlag {
    /// The mount the flag asks for: sources made absolute from the current directory and
    /// checked to exist, destinations checked to be absolute and not to climb.
    pub fn resolve(&self, host: &Host) -> Result<Mount, SpecError> {
        match self {
            MountFlag::Bind(arg) => bind_flag("--bind", arg, false, host),
            MountFlag::RoBind(arg) => bind_flag("--ro-bind", arg, true, host),
            MountFlag::Tmpfs(dst) => Ok(Mount::Tmpfs {
                dst: destination("--tmpfs", dst)?,
                mode: 0o755,
            }),
        }
    }
}

/// Facts about the host and the invoking user that a spec is resolved against.
#[derive(Debug, Clone)]
pub struct Host {
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub home: PathBuf,
    pub cwd: PathBuf,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
}

impl Host {
    /// The values profile variables expand to.
    pub fn vars(&self) -> Vars {
        let var = |name: &str| {
            self.env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| PathBuf::from(v))
                .filter(|p| p.is_absolute())
        };
        Vars {
            home: self.home.clone(),
            cwd: self.cwd.clone(),
            user: self.user.clone(),
            uid: self.uid,
            xdg_runtime_dir: self.xdg_runtime_dir.clone(),
            workspace: var("GITHUB_WORKSPACE").unwrap_or_else(|| self.cwd.clone()),
            data: var("XDG_DATA_HOME")
                .unwrap_or_else(|| self.home.join(".local/share"))
                .join("hutch"),
        }
    }

    pub fn current() -> Result<Host, SpecError> {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        // Never NSS (see crate::account); /etc/passwd only when the environment does not say.
        let account = crate::account::Account::resolve(
            uid,
            gid,
            |name| var(name),
            Path::new(crate::account::PASSWD),
        );
        let user = account.display_name();
        // No home anywhere (a uid no database knows, started with an empty environment): one
        // where a login would put it. Inside, /home is a tmpfs, so the sandbox gets an empty home
        // as usual; on the host, /home belongs to root, so nobody else can have made it, and
        // what needs a real one (a persistent home, `${HUTCH_DATA}`) fails instead of landing
        // somewhere shared. "/", login(1)'s answer, would put the home tmpfs over everything.
        let home = account
            .home
            .unwrap_or_else(|| Path::new("/home").join(&user));
        let cwd = std::env::current_dir().map_err(|source| SpecError::Cwd { source })?;
        let xdg_runtime_dir = var("XDG_RUNTIME_DIR").map(PathBuf::from);
        Ok(Host {
            uid,
            gid,
            user,
            home,
            cwd,
            xdg_runtime_dir,
            env,
        })
    }
}

/// The validated plan for one sandbox.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub argv: Vec<CString>,
    pub ids: IdMapping,
    pub hostname: String,
    pub mounts: Vec<Mount>,
    pub workdir: PathBuf,
    pub env: Vec<CString>,
    pub net: NetMode,
    /// Host ports forwarded into the sandbox (only with [`NetMode::Pasta`]).
    pub publish: Vec<Publish>,
    /// Whether services on the host's loopback are reachable from inside with pasta.
    pub host_loopback: bool,
    /// `--allow-host`: egress only to these names, through hutch's forwarder instead of pasta.
    pub egress: Option<crate::net::EgressPlan>,
    pub limits: Vec<Limit>,
    /// cgroup v2 limits; empty: the sandbox gets no cgroup of its own, unless `own_cgroup`.
    pub resources: Resources,
    /// A cgroup of its own for PID 1 even without limits, mounted writable at /sys/fs/cgroup:
    /// an image's systemd manages that subtree itself (the "delegation" of cgroups(7)).
    pub own_cgroup: bool,
    /// The host's pty slave to bind at /dev/console (an environment's, see `env::console`);
    /// `None`: the terminal on stdin, if any.
    pub console: Option<PathBuf>,
    pub landlock: LandlockMode,
    /// Landlock TCP port rules; only with the host's network (an own namespace needs none).
    pub tcp_ports: TcpPorts,
    /// What Landlock keeps the sandbox from beyond its own domain (ABI 6).
    pub landlock_scopes: Scopes,
    pub seccomp: SeccompPolicy,
    /// Subordinate id ranges mapped from outside by newuidmap/newgidmap (environments from
    /// images); `None`: the sandbox maps its one id itself, as `ids` says.
    pub id_ranges: Option<IdPlan>,
    /// Without a command: a program to exec as PID 1 (an image's own init) instead of hutch's
    /// idle init.
    pub init_program: Option<CString>,
    /// Bind sources a profile asked to create (persistent state); made just before launch.
    pub create_sources: Vec<PathBuf>,
    /// Capabilities the sandbox keeps: none for a user mapped to itself, the profile's list for
    /// root inside.
    pub capabilities: CapSet,
    /// Variables and paths kept from the sandbox, and generated files bound over host ones.
    pub hidden: Hidden,
    /// Things the user should know that did not stop the sandbox.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the current directory")]
    Cwd {
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("{origin}: source {path} does not exist or cannot be reached")]
    MissingSource {
        origin: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: destination {path:?} must be an absolute path without `..`")]
    BadDestination { origin: String, path: String },
    #[error("{origin}: expected NAME=VALUE or NAME, got {value:?}")]
    BadEnv { origin: String, value: String },
    #[error(
        "--hostname {name:?}: a hostname is 1 to 64 characters of letters, digits, `-` and `.`"
    )]
    BadHostname { name: String },
    #[error("the command contains a NUL byte")]
    NulInCommand,
    #[error("--publish {flag}")]
    Publish {
        flag: String,
        #[source]
        source: PublishError,
    },
    #[error("publishing ports needs --net pasta (the network is {})", net.name())]
    PublishNeedsPasta { net: NetMode },
    #[error("{origin}")]
    AllowHost {
        origin: String,
        #[source]
        source: crate::net::AllowError,
    },
    #[error(transparent)]
    Egress(#[from] crate::net::egress::EgressSpecError),
    #[error(
        "the host's loopback cannot be reached with --net none (--net-host-loopback or the \
         profile's net.host_loopback)"
    )]
    HostLoopbackWithoutNetwork,
    #[error("--rlimit {flag}")]
    Limit {
        flag: String,
        #[source]
        source: LimitError,
    },
    #[error(transparent)]
    Resource(ResourceError),
    #[error("profile {profile:?}")]
    Seccomp {
        profile: String,
        #[source]
        source: SeccompError,
    },
    #[error("profile {profile:?}: capabilities")]
    Capabilities {
        profile: String,
        #[source]
        source: CapsError,
    },
}

impl SpecError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::Cwd { .. } => Some(
                "the directory you are in was removed or is not readable; cd somewhere else".into(),
            ),
            SpecError::Profile(e) => e.hint(),
            SpecError::Limit { source, .. } => source.hint(),
            SpecError::MissingSource { origin, .. } if origin.starts_with("profile") => Some(
                "add `optional = true` to the mount to skip it when the source is missing".into(),
            ),
            SpecError::MissingSource { .. } => {
                Some("check the path; relative paths are taken from the current directory".into())
            }
            SpecError::BadDestination { .. } => Some(
                "write the destination as it should appear inside the sandbox, e.g. /data".into(),
            ),
            SpecError::Seccomp { source, .. } => source.hint(),
            SpecError::Capabilities { source, .. } => source.hint(),
            SpecError::Publish { source, .. } => Some(source.hint()),
            SpecError::HostLoopbackWithoutNetwork => {
                Some("use --net pasta --net-host-loopback, or --net host".into())
            }
            SpecError::AllowHost { source, .. } => Some(source.hint()),
            SpecError::Egress(e) => Some(e.hint()),
            SpecError::PublishNeedsPasta { .. } => Some(
                "add --net pasta: with no network nothing can be published, and with the host's \
                 the sandbox binds host ports itself"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl SandboxSpec {
    /// Merge `profile` (already expanded with the host's variables) with the flags of
    /// `request`; every input is checked here.
    pub fn resolve(
        request: &RunRequest,
        profile: &Profile,
        host: &Host,
    ) -> Result<SandboxSpec, SpecError> {
        let mut warnings = Vec::new();
        let mut mounts = Vec::new();
        let mut create_sources = Vec::new();
        let lookup = HostLookup::new(&crate::protected::HostIds);

        for entry in &profile.mounts {
            let dst = profile_destination(&entry.dst)?;
            let mount = match entry.kind {
                MountKind::Bind | MountKind::RoBind => {
                    let Some(src) = &entry.src else {
                        let message =
                            format!("a {} mount needs a source (`src`)", entry.kind.name());
                        return Err(ProfileError::at(&entry.at, &message, None).into());
                    };
                    let path = Path::new(&src.value);
                    let src = if entry.create && path.is_absolute() && !path.exists() {
                        let path = crate::mounts::normalize(path);
                        create_sources.push(path.clone());
                        path
                    } else {
                        match std::fs::canonicalize(host.cwd.join(path)) {
                            Ok(src) => src,
                            Err(_) if entry.optional => continue,
                            Err(err) => {
                                let message = format!(
                                    "mount source {} does not exist or cannot be reached: {err}",
                                    src.value
                                );
                                let hint =
                                    "add `optional = true` to skip the mount when the source \
                                            is missing, or `create = true` to make it";
                                return Err(
                                    ProfileError::at(&src.at, &message, Some(hint.into())).into()
                                );
                            }
                        }
                    };
                    let mut read_only = entry.kind == MountKind::RoBind;
                    if !read_only && exposes_home(&src, &host.home, &lookup) {
                        warnings.push(format!(
                            "not making {} writable: it is or holds your home directory; \
                             use --bind {} to mean it",
                            src.display(),
                            src.display()
                        ));
                        continue;
                    }
                    if !read_only && src == host.cwd {
                        match protected_cwd(&src, host, &lookup) {
                            Some(Protection::Hide(warning)) => {
                                warnings.push(warning);
                                continue;
                            }
                            Some(Protection::ReadOnly(warning)) => {
                                warnings.push(warning);
                                read_only = true;
                            }
                            None => {}
                        }
                    }
                    Mount::Bind {
                        src,
                        dst,
                        read_only,
                    }
                }
                MountKind::Tmpfs => {
                    if entry.optional && std::fs::symlink_metadata(&dst).is_err() {
                        continue;
                    }
                    Mount::Tmpfs {
                        dst,
                        mode: entry.mode.unwrap_or(0o755),
                    }
                }
                MountKind::Proc => Mount::Proc { dst },
                MountKind::Dev => Mount::Dev { dst },
            };
            mounts.push(mount);
        }
        current_directory_wins(&mut mounts, &host.cwd);

        // After the profile's mounts, which they cover; before the flags', which may mean to show
        // one of them again.
        let mut hidden = Hidden::default();
        mounts.extend(secrets::hide_mounts(
            &hide_list(profile),
            "listed in the profile's secrets.hide",
            &mut hidden,
        ));

        for flag in &request.mounts {
            mounts.push(flag.resolve(host)?);
        }

        let hostname = match (&request.hostname, &profile.hostname) {
            (Some(name), _) => {
                valid_hostname(name).map_err(|_| SpecError::BadHostname { name: name.clone() })?
            }
            (None, Some(name)) => valid_hostname(&name.value)
                .map_err(|message| ProfileError::at(&name.at, &message, None))?,
            (None, None) => "sandbox".to_owned(),
        };

        let workdir = match &request.chdir {
            Some(dir) => crate::mounts::normalize(&host.cwd.join(dir)),
            None => host.cwd.clone(),
        };

        let set = profile
            .env
            .set
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        let (cli_set, cli_pass) = env_flags(&request.env)?;
        let rules = if request.clearenv {
            EnvRules {
                cli_set,
                cli_pass,
                cli_unset: request.unsetenv.clone(),
                ..Default::default()
            }
        } else {
            EnvRules {
                keep: profile.env.keep.clone(),
                set,
                unset: profile.env.unset.clone(),
                cli_set,
                cli_pass,
                cli_unset: request.unsetenv.clone(),
            }
        };
        let environ::Environment {
            block: env,
            hidden: hidden_variables,
        } = environ::build(&host.env, &rules);
        hidden.variables = hidden_variables;
        if profile.scrub_git_config == Some(true) {
            let included =
                secrets::git_config_file(&workdir, &host.home, &mut hidden, &mut warnings);
            let why = "included by the checkout's git config";
            mounts.extend(secrets::hide_mounts(&included, why, &mut hidden));
        }

        let argv = request
            .command
            .iter()
            .map(|arg| CString::new(arg.as_bytes()).map_err(|_| SpecError::NulInCommand))
            .collect::<Result<Vec<_>, _>>()?;

        let names =
            |list: &[Located<String>]| list.iter().map(|l| l.value.clone()).collect::<Vec<_>>();
        let seccomp = seccomp::policy(
            &names(&profile.seccomp_deny),
            &names(&profile.seccomp_allow),
            &names(&profile.seccomp_socket_families),
        )
        .map_err(|source| locate_seccomp_error(source, profile))?;
        let map_root = request.map_root || profile.map_root == Some(true);
        // Root inside gets the user's subordinate ranges when the host has them, so that chown
        // and friends work; otherwise the one id, and one warning saying what that costs.
        let id_ranges = if map_root {
            let decision = subid::decide(&subid::HostIds::current());
            warnings.extend(decision.warnings);
            match decision.plan {
                plan @ IdPlan::Ranges { .. } => Some(plan),
                IdPlan::Single { .. } => None,
            }
        } else {
            None
        };
        let capabilities = match (&profile.capabilities, map_root) {
            (_, false) => CapSet::default(),
            (Some(list), true) => capabilities(list)?,
            (None, true) => {
                CapSet::from_names(caps::ROOT_DEFAULT).expect("the built-in list is valid")
            }
        };
        let mut limits = Vec::new();
        for (name, value) in &profile.limits {
            if crate::cgroup::PROFILE_KEYS.contains(&name.as_str()) {
                continue;
            }
            let limit = limits::parse(name, &value.value.text()).map_err(|e| {
                ProfileError::at(&value.at, &format!("limits.{name}: {e}"), e.hint())
            })?;
            limits.push(limit);
        }
        for flag in &request.rlimits {
            limits.push(limits::parse_flag(flag).map_err(|source| SpecError::Limit {
                flag: flag.clone(),
                source,
            })?);
        }
        let limits = limits::merge(limits);
        let resources = resources(request, profile)?;
        let net = request.net.or(profile.net).unwrap_or(NetMode::None);
        let tcp_ports = match net {
            NetMode::Host => TcpPorts {
                bind: profile.tcp_bind.clone(),
                connect: profile.tcp_connect.clone(),
            },
            NetMode::None | NetMode::Pasta => TcpPorts::default(),
        };
        let publish = publish(request, profile, net)?;
        for p in &publish {
            if p.protocol == crate::net::Protocol::Udp && p.host_port != p.port {
                warnings.push(format!(
                    "--publish {p}: older pasta versions (Debian 12's) lose the replies to UDP \
                     published on another port number than inside; use the same number if \
                     replies do not arrive"
                ));
            }
        }
        let host_loopback = request.host_loopback || profile.host_loopback == Some(true);
        if host_loopback && net == NetMode::None {
            return Err(SpecError::HostLoopbackWithoutNetwork);
        }
        let egress = egress_plan(request, profile, net, &publish, host_loopback)?;
        let mut env = env;
        if egress.is_some() {
            // The forwarder is the proxy: the host's proxy settings lead nowhere inside.
            let proxy = crate::net::egress::proxy_env();
            env.retain(|var| {
                let name = var
                    .to_bytes()
                    .split(|b| *b == b'=')
                    .next()
                    .unwrap_or_default();
                !proxy.iter().any(|(n, _)| n.as_bytes() == name)
            });
            for (name, value) in proxy {
                env.extend(CString::new(format!("{name}={value}")));
            }
        }
        let landlock = request.landlock.or(profile.landlock).unwrap_or_default();
        if landlock == LandlockMode::Off {
            warnings.push(
                "Landlock is off (--landlock off): file access is limited by the mount tree alone"
                    .into(),
            );
        }

        Ok(SandboxSpec {
            argv,
            ids: IdMapping {
                host_uid: host.uid,
                host_gid: host.gid,
                map_root,
            },
            hostname,
            mounts,
            workdir,
            env,
            net,
            publish,
            host_loopback,
            egress,
            limits,
            resources,
            own_cgroup: false,
            console: None,
            landlock,
            tcp_ports,
            landlock_scopes: Scopes::default(),
            seccomp,
            id_ranges,
            init_program: None,
            create_sources,
            capabilities,
            hidden,
            warnings,
        })
    }
}

/// `--env NAME=VALUE` sets a value; `--env NAME` passes the host's variable by name.
#[allow(clippy::type_complexity)]
/// Move the profile's bind of the current directory after every later profile mount on one of
/// its parents, which would cover it: the `dev` profile's persistent home is mounted on `~`
/// after `default`'s bind of the current directory, and a project in the home must still be
/// the one the user is in. The order of everything else is kept.
fn current_directory_wins(mounts: &mut Vec<Mount>, cwd: &Path) {
    let is_cwd_bind = |m: &Mount| matches!(m, Mount::Bind { dst, .. } if dst == cwd);
    let Some(at) = mounts.iter().position(is_cwd_bind) else {
        return;
    };
    let covers = |m: &Mount| cwd.starts_with(mount_destination(m)) && !is_cwd_bind(m);
    if let Some(last) = mounts.iter().rposition(covers).filter(|&last| last > at) {
        let bind = mounts.remove(at);
        mounts.insert(last, bind);
    }
}

fn mount_destination(mount: &Mount) -> &Path {
    match mount {
        Mount::Overlay { dst, .. }
        | Mount::Bind { dst, .. }
        | Mount::Tmpfs { dst, .. }
        | Mount::Proc { dst }
        | Mount::Dev { dst }
        | Mount::Sysfs { dst } => dst,
    }
}

/// `--env` flags: the variables set (`K=V`) and the names passed from the host (`K`).
type EnvFlags = (Vec<(String, String)>, Vec<String>);

fn env_flags(flags: &[String]) -> Result<EnvFlags, SpecError> {
    let mut set = Vec::new();
    let mut pass = Vec::new();
    for arg in flags {
        let bad = || SpecError::BadEnv {
            origin: "--env".into(),
            value: arg.clone(),
        };
        match arg.split_once('=') {
            Some(("", _)) => return Err(bad()),
            Some((name, value)) => set.push((name.to_owned(), value.to_owned())),
            None if arg.is_empty() || arg.contains('\0') => return Err(bad()),
            None => pass.push(arg.clone()),
        }
    }
    Ok((set, pass))
}

/// The profile's `[secrets] hide` paths, expanded.
fn hide_list(profile: &Profile) -> Vec<String> {
    profile.hide.iter().map(|p| p.value.clone()).collect()
}

/// The profile's published ports, then the flags'; only pasta can publish.
fn publish(
    request: &RunRequest,
    profile: &Profile,
    net: NetMode,
) -> Result<Vec<Publish>, SpecError> {
    let mut out = Vec::new();
    for entry in &profile.publish {
        let parsed = entry.value.parse::<Publish>().map_err(|e| {
            let message = format!("net.publish: {:?}: {e}", entry.value);
            ProfileError::at(&entry.at, &message, Some(e.hint()))
        })?;
        out.push(parsed);
    }
    for flag in &request.publish {
        out.push(flag.parse().map_err(|source| SpecError::Publish {
            flag: flag.clone(),
            source,
        })?);
    }
    if !out.is_empty() && net != NetMode::Pasta {
        return Err(SpecError::PublishNeedsPasta { net });
    }
    Ok(out)
}

/// The profile's `[net] allow`, then the flags'; `None` without any.
fn egress_plan(
    request: &RunRequest,
    profile: &Profile,
    net: NetMode,
    publish: &[Publish],
    host_loopback: bool,
) -> Result<Option<crate::net::EgressPlan>, SpecError> {
    let mut allow = Vec::new();
    for entry in &profile.allow_hosts {
        allow.push(entry.value.parse().map_err(|e: crate::net::AllowError| {
            let message = format!("net.allow: {:?}: {e}", entry.value);
            ProfileError::at(&entry.at, &message, Some(e.hint()))
        })?);
    }
    for flag in &request.allow_hosts {
        allow.push(flag.parse().map_err(|source| SpecError::AllowHost {
            origin: format!("--allow-host {flag}"),
            source,
        })?);
    }
    crate::net::egress::plan_for(allow, net, !publish.is_empty(), host_loopback)
        .map_err(SpecError::from)
}

/// A seccomp error about a name, pointed at where the profile says it.
fn locate_seccomp_error(error: SeccompError, profile: &Profile) -> SpecError {
    if let SeccompError::UnknownSocketFamily { name } = &error {
        if let Some(entry) = profile
            .seccomp_socket_families
            .iter()
            .find(|e| e.value == *name)
        {
            let message = format!("seccomp.allow_socket_families: unknown address family {name:?}");
            return ProfileError::at(&entry.at, &message, error.hint()).into();
        }
    }
    if let SeccompError::UnknownSyscall { list, name } = &error {
        let entries = if *list == "deny" {
            &profile.seccomp_deny
        } else {
            &profile.seccomp_allow
        };
        if let Some(entry) = entries.iter().find(|e| e.value == *name) {
            let message = format!("seccomp.{list}: unknown system call {name:?}");
            return ProfileError::at(&entry.at, &message, error.hint()).into();
        }
    }
    SpecError::Seccomp {
        profile: profile.name.clone(),
        source: error,
    }
}

fn capabilities(list: &[Located<String>]) -> Result<CapSet, SpecError> {
    let mut set = CapSet::default();
    for name in list {
        let one = CapSet::from_names(&[&name.value])
            .map_err(|e| ProfileError::at(&name.at, &e.to_string(), e.hint()))?;
        set.0 |= one.0;
    }
    Ok(set)
}

fn profile_destination(dst: &Located<String>) -> Result<PathBuf, SpecError> {
    destination("", &dst.value).map_err(|_| {
        let message = format!(
            "mount destination {:?} must be an absolute path without `..`",
            dst.value
        );
        let hint = "write the destination as it appears inside the sandbox, e.g. \"/data\"";
        ProfileError::at(&dst.at, &message, Some(hint.into())).into()
    })
}

/// A destination inside the sandbox: absolute, and never climbing out of the new root.
fn destination(origin: &str, path: &str) -> Result<PathBuf, SpecError> {
    let p = Path::new(path);
    let bad = || SpecError::BadDestination {
        origin: origin.to_owned(),
        path: path.to_owned(),
    };
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        return Err(bad());
    }
    Ok(crate::mounts::normalize(p))
}

/// A bind source on the host, made absolute and resolved (symlinks included) as the user sees it.
fn existing_source(origin: &str, src: &Path, cwd: &Path) -> Result<PathBuf, SpecError> {
    let src = cwd.join(src);
    std::fs::canonicalize(&src).map_err(|source| SpecError::MissingSource {
        origin: origin.to_owned(),
        path: src,
        source,
    })
}

fn bind_flag(flag: &str, arg: &str, read_only: bool, host: &Host) -> Result<Mount, SpecError> {
    let (src, dst) = match arg.split_once(':') {
        Some((src, dst)) => (src, Some(dst)),
        None => (arg, None),
    };
    let origin = format!("{flag} {arg}");
    let src = existing_source(&origin, Path::new(src), &host.cwd)?;
    let dst = match dst {
        Some(dst) => destination(&origin, dst)?,
        None => src.clone(),
    };
    Ok(Mount::Bind {
        src,
        dst,
        read_only,
    })
}

/// Whether a writable bind of `src` would expose the home directory: `src` is it or holds it,
/// however either path is spelled (`$HOME` through a symlink, a bind mount elsewhere).
fn exposes_home(src: &Path, home: &Path, lookup: &HostLookup) -> bool {
    use crate::protected::Relation;
    matches!(
        lookup.relation(src, home),
        Some(Relation::Is | Relation::Holds)
    )
}

/// One lookup for every question about protected directories in one spec (see
/// `crate::protected::Lookup`).
type HostLookup<'a> = crate::protected::Lookup<'a, crate::protected::HostIds>;

/// What becomes of a current directory that must not be made writable, with the warning.
enum Protection {
    ReadOnly(String),
    Hide(String),
}

/// Whether the current directory `cwd` must not be made writable: it is, holds or lies inside
/// hutch's own directories (bound read-only), the runtime directory, `~/.config` or a
/// credential store (not bound: read-only would still expose keys and agent sockets).
fn protected_cwd(cwd: &Path, host: &Host, lookup: &HostLookup) -> Option<Protection> {
    let var = |name: &str| {
        host.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| PathBuf::from(v))
    };
    let protected = crate::protected::protected_dirs(&host.home, var);
    let (relation, dir) = lookup.conflict(cwd, &protected)?;
    let why = format!(
        "it {} {} ({})",
        relation.verb(),
        dir.what,
        dir.path.display()
    );
    let cwd = cwd.display();
    Some(if dir.hide {
        Protection::Hide(format!(
            "not binding {cwd}: {why}, whose keys and sockets even a read-only bind would expose; \
             use --bind {cwd} or --ro-bind {cwd} to mean it"
        ))
    } else {
        Protection::ReadOnly(format!(
            "not making {cwd} writable: {why}; it is bound read-only; use --bind {cwd} to mean it"
        ))
    })
}

fn valid_hostname(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "hostname {name:?}: 1 to 64 characters of letters, digits, `-` and `.`"
        ))
    }
}

/// Turn `NAME=VALUE` pairs into the C strings execve wants.
pub fn env_block(pairs: &[(OsString, OsString)]) -> Vec<CString> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            let mut entry = k.clone().into_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            CString::new(entry).ok()
        })
        .collect()
}

/// The value of `name` in an execve-style environment block.
pub fn env_lookup<'a>(env: &'a [CString], name: &str) -> Option<&'a OsStr> {
    env.iter().find_map(|entry| {
        let bytes = entry.as_bytes();
        let value = bytes.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        Some(OsStr::from_bytes(value))
    })
}

/// The cgroup limits: the profile's `[limits]` keys (`memory`, `pids`, …; an error points at
/// the profile's line), then the flags, each replacing the profile's value.
fn resources(request: &RunRequest, profile: &Profile) -> Result<Resources, SpecError> {
    let mut from_profile = ResourceFlags::default();
    for (name, value) in &profile.limits {
        if let Some(slot) = from_profile.slot(name) {
            let text = value.value.text();
            let alone = {
                let mut one = ResourceFlags::default();
                *one.slot(name).expect("a known key") = Some(text.clone());
                one
            };
            Resources::parse(&alone, |_| format!("limits.{name}")).map_err(|e| {
                ProfileError::at(&value.at, &e.to_string(), Some(cgroup_flag_hint(name)))
            })?;
            *slot = Some(text);
        }
    }
    Resources::parse(&request.resources.over(&from_profile), |flag| {
        format!("--{flag}")
    })
    .map_err(SpecError::Resource)
}

fn cgroup_flag_hint(key: &str) -> String {
    format!(
        "`{key}` is a cgroup v2 limit, the same as --{}",
        key.replace('_', "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(cwd: &Path, home: &Path) -> Host {
        Host {
            uid: 1000,
            gid: 1000,
            user: "ada".into(),
            home: home.into(),
            cwd: cwd.into(),
            xdg_runtime_dir: None,
            env: vec![
                ("PATH".into(), "/usr/bin".into()),
                ("GITHUB_TOKEN".into(), "secret".into()),
            ],
        }
    }

    fn request(command: &[&str]) -> RunRequest {
        RunRequest {
            profile: "default".into(),
            command: command.iter().map(OsString::from).collect(),
            ..Default::default()
        }
    }

    fn resolve(req: &RunRequest, profile: &str, host: &Host) -> Result<SandboxSpec, SpecError> {
        let profile = Catalog::new(None).load(profile)?.expanded(&host.vars())?;
        SandboxSpec::resolve(req, &profile, host)
    }

    /// An image's systemd gets its own cgroup mounted writable over the sysfs it is given, and
    /// the supervisor's console pty as /dev/console; a plain sandbox neither.
    #[test]
    fn an_init_that_manages_cgroups_gets_a_writable_cgroup2_and_a_console() {
        use crate::mounts::{Access, MountOp};
        use crate::sandbox::Hardening;
        let cwd = tempfile::tempdir().unwrap();
        let cwd = cwd.path().canonicalize().unwrap();
        let mut spec = resolve(
            &request(&["true"]),
            "default",
            &host(&cwd, Path::new("/home/ada")),
        )
        .unwrap();
        spec.mounts.push(Mount::Dev { dst: "/dev".into() });
        spec.mounts.push(Mount::Sysfs { dst: "/sys".into() });
        let plain = Hardening::prepare(&spec).unwrap().mount_ops;
        assert!(!plain.iter().any(|op| matches!(op, MountOp::Cgroup2 { .. })));
        spec.own_cgroup = true;
        spec.console = Some("/dev/pts/9".into());
        let ops = Hardening::prepare(&spec).unwrap().mount_ops;
        let at = |wanted: &MountOp| ops.iter().position(|op| op == wanted);
        let cgroup = at(&MountOp::Cgroup2 {
            dst: "/sys/fs/cgroup".into(),
            read_only: false,
        })
        .expect("a writable cgroup2");
        let sysfs = at(&MountOp::Sysfs { dst: "/sys".into() }).expect("sysfs");
        assert!(sysfs < cgroup, "the cgroup2 goes over the sysfs: {ops:?}");
        assert!(at(&MountOp::Bind {
            src: "/dev/pts/9".into(),
            dst: "/dev/console".into(),
            access: Access::Device,
        })
        .is_some());
    }

    #[test]
    fn default_profile_binds_cwd_writable_and_home_as_tmpfs() {
        let cwd = tempfile::tempdir().unwrap();
        let cwd = cwd.path().canonicalize().unwrap();
        let spec = resolve(
            &request(&["true"]),
            "default",
            &host(&cwd, Path::new("/home/ada")),
        )
        .unwrap();
        assert_eq!(
            spec.mounts[0],
            Mount::Bind {
                src: "/".into(),
                dst: "/".into(),
                read_only: true
            }
        );
        assert!(spec.mounts.contains(&Mount::Tmpfs {
            dst: "/home/ada".into(),
            mode: 0o700
        }));
        assert!(spec.mounts.contains(&Mount::Bind {
            src: cwd.clone(),
            dst: cwd.clone(),
            read_only: false
        }));
        assert_eq!(spec.workdir, cwd);
        assert!(spec.warnings.is_empty());
    }

    #[test]
    fn the_current_directory_is_mounted_after_a_home_that_would_cover_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap().join("home");
        let cwd = home.join("src/project");
        std::fs::create_dir_all(&cwd).unwrap();
        let spec = resolve(&request(&["true"]), "dev", &host(&cwd, &home)).unwrap();
        let position = |wanted: &dyn Fn(&Mount) -> bool| spec.mounts.iter().position(wanted);
        let home_bind = position(&|m| matches!(m, Mount::Bind { dst, .. } if *dst == home));
        let cwd_bind = position(&|m| matches!(m, Mount::Bind { dst, .. } if *dst == cwd));
        let home_tmpfs = position(&|m| matches!(m, Mount::Tmpfs { dst, .. } if *dst == home));
        let (Some(home_bind), Some(cwd_bind), Some(home_tmpfs)) = (home_bind, cwd_bind, home_tmpfs)
        else {
            panic!("{:?}", spec.mounts);
        };
        assert!(
            home_tmpfs < home_bind && home_bind < cwd_bind,
            "{:?}",
            spec.mounts
        );
        // Outside the home nothing moves: the bind stays where the profile put it.
        let elsewhere = dir.path().canonicalize().unwrap().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let spec = resolve(&request(&["true"]), "dev", &host(&elsewhere, &home)).unwrap();
        let last = spec.mounts.last().unwrap();
        assert!(
            matches!(last, Mount::Bind { dst, .. } if *dst == home),
            "{:?}",
            spec.mounts
        );
    }

    #[test]
    fn cwd_that_holds_home_is_not_made_writable() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let spec = resolve(&request(&["true"]), "default", &host(&home, &home)).unwrap();
        assert!(!spec.mounts.iter().any(|m| matches!(
            m,
            Mount::Bind {
                read_only: false,
                ..
            }
        )));
        assert_eq!(spec.warnings.len(), 1, "{:?}", spec.warnings);
        let root = resolve(&request(&["true"]), "default", &host(Path::new("/"), &home)).unwrap();
        assert!(!root.mounts.iter().any(|m| matches!(
            m,
            Mount::Bind {
                read_only: false,
                ..
            }
        )));
    }

    #[test]
    fn home_through_a_symlink_is_still_recognised() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap().join("data/ada");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(real.parent().unwrap(), tmp.path().join("home")).unwrap();
        let home = tmp.path().join("home/ada");
        let spec = resolve(&request(&["true"]), "default", &host(&real, &home)).unwrap();
        assert!(!spec.mounts.iter().any(|m| matches!(
            m,
            Mount::Bind {
                read_only: false,
                ..
            }
        )));
        assert!(
            spec.warnings[0].contains("holds your home"),
            "{:?}",
            spec.warnings
        );
    }

    #[test]
    fn cwd_in_a_protected_directory_is_read_only_or_not_bound() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let binds_of = |spec: &SandboxSpec, cwd: &Path| -> Vec<bool> {
            spec.mounts
                .iter()
                .filter_map(|m| match m {
                    Mount::Bind { src, read_only, .. } if src == cwd => Some(*read_only),
                    _ => None,
                })
                .collect()
        };
        // hutch's state: read-only.
        for (dir, what) in [
            (".local/share/hutch", "is hutch's state"),
            (".local/share/hutch/images/x", "lies inside hutch's state"),
        ] {
            let cwd = home.join(dir);
            std::fs::create_dir_all(&cwd).unwrap();
            let spec = resolve(&request(&["true"]), "default", &host(&cwd, &home)).unwrap();
            assert_eq!(binds_of(&spec, &cwd), [true], "{dir}: {:?}", spec.mounts);
            assert_eq!(spec.warnings.len(), 1, "{dir}: {:?}", spec.warnings);
            assert!(
                spec.warnings[0].contains(what),
                "{dir}: {:?}",
                spec.warnings
            );
        }
        // Secrets and sockets: not bound at all.
        for (dir, what) in [
            (".config", "is your configuration directory"),
            (
                ".config/hutch/profiles",
                "lies inside your configuration directory",
            ),
            (".ssh", "is a credential directory"),
            (".local/share", "holds a credential directory"),
        ] {
            let cwd = home.join(dir);
            std::fs::create_dir_all(&cwd).unwrap();
            let spec = resolve(&request(&["true"]), "default", &host(&cwd, &home)).unwrap();
            assert!(binds_of(&spec, &cwd).is_empty(), "{dir}: {:?}", spec.mounts);
            assert_eq!(spec.warnings.len(), 1, "{dir}: {:?}", spec.warnings);
            assert!(
                spec.warnings[0].contains(what),
                "{dir}: {:?}",
                spec.warnings
            );
        }
        // An explicit --bind means it.
        let cwd = home.join(".ssh");
        let mut req = request(&["true"]);
        req.mounts = vec![MountFlag::Bind(".".into())];
        let spec = resolve(&req, "default", &host(&cwd, &home)).unwrap();
        assert_eq!(
            spec.mounts.last(),
            Some(&Mount::Bind {
                src: cwd.clone(),
                dst: cwd.clone(),
                read_only: false
            })
        );
    }

    #[test]
    fn bind_flags_keep_their_order_and_resolve_relative_sources() {
        let cwd = tempfile::tempdir().unwrap();
        let cwd = cwd.path().canonicalize().unwrap();
        std::fs::create_dir(cwd.join("data")).unwrap();
        let mut req = request(&["true"]);
        req.mounts = vec![
            MountFlag::Tmpfs("/x".into()),
            MountFlag::RoBind("data:/x/data".into()),
            MountFlag::Bind("data".into()),
        ];
        let spec = resolve(&req, "default", &host(&cwd, Path::new("/home/ada"))).unwrap();
        let tail = &spec.mounts[spec.mounts.len() - 3..];
        assert_eq!(
            tail,
            [
                Mount::Tmpfs {
                    dst: "/x".into(),
                    mode: 0o755
                },
                Mount::Bind {
                    src: cwd.join("data"),
                    dst: "/x/data".into(),
                    read_only: true
                },
                Mount::Bind {
                    src: cwd.join("data"),
                    dst: cwd.join("data"),
                    read_only: false
                },
            ]
        );
    }

    #[test]
    fn bad_inputs_are_named() {
        let cwd = Path::new("/");
        let h = host(cwd, Path::new("/home/ada"));
        let mut req = request(&["true"]);
        req.mounts = vec![MountFlag::Bind("/does/not/exist".into())];
        let err = resolve(&req, "default", &h).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--bind /does/not/exist: source /does/not/exist"),
            "{err}"
        );

        req.mounts = vec![MountFlag::Bind("/:../etc".into())];
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::BadDestination { .. })
        ));
        req.mounts = vec![MountFlag::Tmpfs("/a/../../etc".into())];
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::BadDestination { .. })
        ));

        let mut req = request(&["true"]);
        req.env = vec!["=value".into()];
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::BadEnv { .. })
        ));

        let mut req = request(&["true"]);
        req.hostname = Some("bad name".into());
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::BadHostname { .. })
        ));
    }

    #[test]
    fn cli_flags_override_the_profile() {
        let h = host(Path::new("/"), Path::new("/home/ada"));
        let spec = resolve(&request(&["true"]), "dev", &h).unwrap();
        assert_eq!(
            (spec.net, spec.hostname.as_str()),
            (NetMode::Pasta, "sandbox")
        );
        let mut req = request(&["true"]);
        req.net = Some(NetMode::None);
        req.hostname = Some("mine".into());
        req.landlock = Some(LandlockMode::Require);
        let spec = resolve(&req, "dev", &h).unwrap();
        assert_eq!(
            (spec.net, spec.hostname.as_str(), spec.landlock),
            (NetMode::None, "mine", LandlockMode::Require)
        );
    }

    #[test]
    fn publishing_needs_pasta_and_is_checked() {
        let h = host(Path::new("/"), Path::new("/home/ada"));
        let mut req = request(&["true"]);
        req.publish = vec!["127.0.0.1:8080:80".into(), "5353:53/udp".into()];
        let err = resolve(&req, "default", &h).unwrap_err();
        assert!(matches!(
            err,
            SpecError::PublishNeedsPasta { net: NetMode::None }
        ));
        assert!(err.hint().unwrap().contains("--net pasta"));
        req.net = Some(NetMode::Host);
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::PublishNeedsPasta { .. })
        ));
        req.net = Some(NetMode::Pasta);
        let spec = resolve(&req, "default", &h).unwrap();
        assert_eq!(
            spec.publish
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["127.0.0.1:8080:80/tcp", "5353:53/udp"]
        );
        assert_eq!(spec.tcp_ports, TcpPorts::default());
        req.publish = vec!["8080".into()];
        let err = resolve(&req, "default", &h).unwrap_err();
        let rendered = crate::error::render(&err, None);
        assert_eq!(
            rendered,
            "--publish 8080: expected [IP:]HOSTPORT:PORT[/tcp|/udp]"
        );

        let mut req = request(&["true"]);
        req.host_loopback = true;
        assert!(matches!(
            resolve(&req, "default", &h),
            Err(SpecError::HostLoopbackWithoutNetwork)
        ));
        req.net = Some(NetMode::Pasta);
        assert!(resolve(&req, "default", &h).unwrap().host_loopback);
    }

    #[test]
    fn a_profile_publishes_and_its_mistakes_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("web.toml"),
            "extends = \"dev\"\n[net]\npublish = [\"127.0.0.1:8080:80\"]\nhost_loopback = true\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("broken.toml"),
            "extends = \"dev\"\n[net]\npublish = [\"8080:80\", \"80\"]\n",
        )
        .unwrap();
        let h = host(Path::new("/"), Path::new("/home/ada"));
        let load = |name: &str| {
            let profile = Catalog::new(Some(dir.path().into()))
                .load(name)?
                .expanded(&h.vars())?;
            let mut req = request(&["true"]);
            req.profile = name.into();
            req.publish = vec!["9090:90".into()];
            SandboxSpec::resolve(&req, &profile, &h)
        };
        let spec = load("web").unwrap();
        assert_eq!(spec.net, NetMode::Pasta, "from dev");
        assert!(spec.host_loopback);
        assert_eq!(
            spec.publish
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["127.0.0.1:8080:80/tcp", "9090:90/tcp"],
            "the profile's first, then the flags'"
        );
        let err = load("broken").unwrap_err().to_string();
        assert!(err.contains("broken.toml:3:"), "{err}");
        assert!(err.contains("net.publish: \"80\""), "{err}");
    }

    #[test]
    fn ci_profile_strips_secrets_and_keeps_the_rest() {
        let mut h = host(Path::new("/"), Path::new("/home/ada"));
        for (k, v) in [
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
            ("NPM_TOKEN", "t"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("DEPLOY_KEY", "k"),
            ("DB_PASSWORD", "p"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/c"),
            ("SSH_AUTH_SOCK", "/s"),
            ("CI", "true"),
            ("GITHUB_SHA", "abc"),
        ] {
            h.env.push((k.into(), v.into()));
        }
        let spec = resolve(&request(&["true"]), "ci", &h).unwrap();
        let names: Vec<&str> = spec
            .env
            .iter()
            .map(|e| e.to_str().unwrap().split('=').next().unwrap())
            .collect();
        assert_eq!(names, ["PATH", "CI", "GITHUB_SHA"]);
        assert_eq!(spec.net, NetMode::Host);
    }

    #[test]
    fn environment_drops_secrets_and_sets_home() {
        let h = host(Path::new("/"), Path::new("/home/ada"));
        let spec = resolve(&request(&["true"]), "default", &h).unwrap();
        assert_eq!(env_lookup(&spec.env, "PATH"), Some(OsStr::new("/usr/bin")));
        assert_eq!(env_lookup(&spec.env, "HOME"), Some(OsStr::new("/home/ada")));
        assert_eq!(env_lookup(&spec.env, "GITHUB_TOKEN"), None);
    }
}
