//! Persistent environments: named private systems on the shared kernel, each started, stopped
//! and restarted on its own — also by `reboot` inside it.
//!
//! An environment is a definition (`envs/NAME/env.toml`), a persistent home (`envs/NAME/home`)
//! and a console log under the data directory. While it runs, one supervisor process owns it:
//! it holds an open-file-description lock on `envs/NAME/lock` for as long as it lives (the
//! kernel drops the lock when it dies, however it dies), keeps PID 1 of the sandbox as its
//! child, and writes `envs/NAME/run/state.json` (write and rename). All of it is under the data
//! directory, which logout does not touch (see [`crate::state`]). Every command reconciles: a
//! state file whose lock is free belongs to a dead supervisor and is removed.

pub mod commands;
pub mod console;
pub mod copy;
pub mod image;
pub mod inits;
pub mod join;
pub mod logs;
pub mod notify;
pub mod relay;
pub mod runtime;
pub mod shares;
pub mod supervisor;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::net::NetError;
use crate::profile::{Catalog, NetMode, ProfileError};
use crate::spec::{Host, MountFlag, RunRequest, SandboxSpec, SpecError};
use crate::state::StateDirs;

/// What an environment is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The host's own system, read-only, with a home of the environment's own.
    Host,
    /// An imported image: its tree read-only and shared, under an upper layer of the
    /// environment's own (`envs/NAME/upper`); root inside.
    Image,
}

/// Which program is an environment's PID 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// hutch's own: reaps, ends on `hutch stop`, restarts on reboot(2).
    #[default]
    Hutch,
    /// The image's /sbin/init (busybox, sysvinit, systemd, …).
    System,
}

impl Init {
    fn is_hutch(&self) -> bool {
        *self == Init::Hutch
    }
}

/// `envs/NAME/env.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    pub source: Source,
    /// The profile the environment's sandbox starts from (default: base).
    pub profile: String,
    /// Be uid 0 inside.
    #[serde(default)]
    pub map_root: bool,
    /// Seconds since the epoch.
    pub created: u64,
    /// PID 1: hutch's init, or the image's own /sbin/init (`--init system`).
    #[serde(default, skip_serializing_if = "Init::is_hutch")]
    pub init: Init,
    /// The signal that asks PID 1 to shut down, over what its init is known to take (see
    /// [`inits`]): `SIGPWR`, `SIGRTMIN+3`, a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// When the init counts as booted, over what its init is known to do: `notify` waits for
    /// `READY=1` on `$NOTIFY_SOCKET` (systemd's default), `started` only for it to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<inits::Readiness>,
    /// Seconds a `notify` init may take to boot before it is taken for frozen and stopped
    /// (default 180).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_timeout: Option<u64>,
    /// The image, for `source = "image"` (`hutch image rm` looks for this key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The network, over the profile's (`create --net/--publish/--net-host-loopback`).
    #[serde(default, skip_serializing_if = "NetSettings::is_empty")]
    pub net: NetSettings,
    /// Host folders shared at every start (`create --bind/--ro-bind/--tmpfs`): see [`shares`].
    #[serde(default, rename = "mount", skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<shares::Share>,
    /// cgroup v2 limits (`create --memory/--pids/…`, `hutch update`), as given; over the
    /// profile's.
    #[serde(
        default,
        skip_serializing_if = "crate::cgroup::ResourceFlags::is_empty"
    )]
    pub limits: crate::cgroup::ResourceFlags,
}

/// `[net]` in `env.toml`: what `hutch create` was told about the network. Checked when the
/// sandbox is resolved, like the same flags of `hutch run`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<NetMode>,
    /// `--publish` values, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_loopback: bool,
    /// `--allow-host` values, as given.
    #[serde(default, rename = "allow", skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
}

impl NetSettings {
    pub fn is_empty(&self) -> bool {
        *self == NetSettings::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{name:?} is not a valid environment name")]
    BadName { name: String },
    #[error("no environment named {name:?}")]
    NotFound { name: String },
    #[error("an environment named {name:?} exists already")]
    Exists { name: String },
    #[error("environment {name:?} is running")]
    Running { name: String },
    #[error("environment {name:?} is not running")]
    NotRunning { name: String },
    #[error("--init system runs an image's own init; an environment from the host has none")]
    SystemInitNeedsImage,
    #[error("create an environment from one source: --host or --image IMAGE")]
    NoSource,
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("environment definition {} is broken", path.display())]
    BadDefinition {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Inits(#[from] inits::InitsError),
    #[error("the supervisor of {name:?} failed: {message}")]
    Supervisor { name: String, message: String },
    #[error("{what}")]
    Sys {
        what: &'static str,
        #[source]
        source: crate::sys::SysError,
    },
    #[error("image {image:?}: {message}")]
    Image { image: String, message: String },
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error("environment {name:?} did not {what} within {seconds} s")]
    Timeout {
        name: String,
        what: &'static str,
        seconds: u64,
    },
}

impl EnvError {
    pub fn hint(&self) -> Option<String> {
        match self {
            EnvError::BadName { .. } => Some(
                "names are 1 to 63 letters, digits, `_`, `.` and `-`, starting with a letter or digit".into(),
            ),
            EnvError::NotFound { .. } => Some("`hutch ls` lists the environments".into()),
            EnvError::Exists { .. } => Some("choose another name, or `hutch rm NAME` first".into()),
            EnvError::Running { name } => Some(format!("stop it first (`hutch stop {name}`), or pass -f")),
            EnvError::NotRunning { name } => Some(format!("start it with `hutch start {name}`")),
            EnvError::NoSource => Some(
                "e.g. `hutch create dev --host`, or `hutch create deb --image debian` (`hutch image ls` lists images)".into(),
            ),
            EnvError::Image { .. } => Some("`hutch image ls` lists the images; `hutch image import` adds one".into()),
            EnvError::State(e) => e.hint(),
            EnvError::Profile(e) => e.hint(),
            EnvError::Spec(e) => e.hint(),
            EnvError::Net(e) => e.hint(),
            EnvError::Inits(e) => e.hint(),
            EnvError::Cgroup(e) => e.hint(),
            EnvError::Supervisor { name, .. } => Some(format!("`hutch logs {name}` shows its console")),
            _ => None,
        }
    }
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}`: safe as a directory name and a hostname part.
pub fn validate_name(name: &str) -> Result<(), EnvError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EnvError::BadName {
            name: name.to_owned(),
        })
    }
}

/// Where one environment's files are.
#[derive(Debug, Clone)]
pub struct EnvPaths {
    pub name: String,
    /// `envs/NAME`.
    pub dir: PathBuf,
    /// `envs/NAME/run`: the live state of a running environment, removed when it stops.
    pub run: PathBuf,
}

impl EnvPaths {
    pub fn new(dirs: &StateDirs, name: &str) -> Result<EnvPaths, EnvError> {
        validate_name(name)?;
        Ok(EnvPaths {
            name: name.to_owned(),
            dir: dirs.envs().join(name),
            run: dirs.envs().join(name).join("run"),
        })
    }

    pub fn definition(&self) -> PathBuf {
        self.dir.join("env.toml")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    /// An image environment's own layer over the image, and overlayfs' scratch directory.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    pub fn console(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// Why the environment last stopped, when it was not asked to.
    pub fn last_stop(&self) -> PathBuf {
        self.dir.join("last-stop")
    }

    /// The supervisor's lock, held for as long as it runs.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// Supervisor and PID 1: pids, start times, boot id.
    pub fn state(&self) -> PathBuf {
        self.run.join("state.json")
    }

    pub fn exists(&self) -> bool {
        self.definition().exists()
    }

    pub fn load(&self) -> Result<Definition, EnvError> {
        let path = self.definition();
        let bytes = crate::state::read_private_file(&path, DEFINITION_LIMIT)?.ok_or_else(|| {
            EnvError::NotFound {
                name: self.name.clone(),
            }
        })?;
        let text = String::from_utf8_lossy(&bytes);
        toml::from_str(&text).map_err(|source| EnvError::BadDefinition { path, source })
    }
}

/// More than any definition hutch writes.
const DEFINITION_LIMIT: u64 = 1 << 20;

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> EnvError + 'a {
    move |source| EnvError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Write `contents` to `path` atomically (mode 0600): a reader sees the old file or the new,
/// never half.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), EnvError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut file| file.write_all(contents))
        .map_err(io("cannot write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("cannot rename into place", path))
}

/// Create the environment's definition and home. Fails if it exists.
pub fn create(paths: &EnvPaths, definition: &Definition) -> Result<(), EnvError> {
    // `envs/` itself was made the user's alone with the data directory.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(paths.dir.parent().expect("envs/NAME has a parent"))
        .map_err(io("cannot create", &paths.dir))?;
    match std::fs::DirBuilder::new().mode(0o700).create(&paths.dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(EnvError::Exists {
                name: paths.name.clone(),
            })
        }
        Err(e) => return Err(io("cannot create", &paths.dir)(e)),
    }
    let made = (|| {
        // The upper layer's top directory is the environment's `/`: every user inside must
        // be able to enter it. Other users of the host cannot: envs/NAME itself is 0700.
        let dirs = match definition.source {
            Source::Host => vec![(paths.home(), 0o700)],
            Source::Image => vec![(paths.upper(), 0o755), (paths.work(), 0o700)],
        };
        for (dir, mode) in dirs {
            std::fs::DirBuilder::new()
                .mode(mode)
                .create(&dir)
                .map_err(io("cannot create", &dir))?;
        }
        let text = toml::to_string(definition).expect("a plain struct serializes");
        write_atomically(&paths.definition(), text.as_bytes())
    })();
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&paths.dir);
    }
    made
}

/// The sandbox an environment runs: its profile, its own home over the user's, no command (PID
/// 1 idles; commands join it), the environment's name as hostname.
pub fn spec(
    paths: &EnvPaths,
    definition: &Definition,
    host: &Host,
) -> Result<SandboxSpec, EnvError> {
    if definition.source == Source::Image {
        return image::spec(paths, definition, host);
    }
    let profile = Catalog::from_env()
        .load(&definition.profile)?
        .expanded(&host.vars())?;
    let mut host = host.clone();
    // Commands in the environment start in its home, whatever directory `hutch` ran in.
    host.cwd = host.home.clone();
    let request = RunRequest {
        profile: definition.profile.clone(),
        mounts: vec![MountFlag::Bind(format!(
            "{}:{}",
            paths.home().display(),
            host.home.display()
        ))],
        hostname: Some(paths.name.clone()),
        map_root: definition.map_root,
        net: definition.net.mode,
        publish: definition.net.publish.clone(),
        host_loopback: definition.net.host_loopback,
        allow_hosts: definition.net.allow_hosts.clone(),
        resources: definition.limits.clone(),
        ..Default::default()
    };
    let mut spec = SandboxSpec::resolve(&request, &profile, &host)?;
    spec.mounts.extend(shares::mounts(&definition.mounts)?);
    spec.landlock_scopes = environment_scopes(&spec);
    if definition.map_root {
        // reboot(2) inside a pid namespace only signals its init; root in the environment may
        // restart it as on a machine of its own.
        spec.capabilities = spec.capabilities.with("SYS_BOOT");
    }
    Ok(spec)
}

/// How the environment's PID 1 is asked to stop and to reboot: hutch's init, or the image's own
/// as found in its layers now (a package installed inside may have changed it).
pub fn conventions(
    paths: &EnvPaths,
    definition: &Definition,
) -> Result<inits::Conventions, EnvError> {
    let stop_signal =
        match &definition.stop_signal {
            None => None,
            Some(value) => Some(inits::parse_signal(value).ok_or_else(|| {
                inits::InitsError::BadStopSignal {
                    value: value.clone(),
                    definition: paths.definition(),
                }
            })?),
        };
    if definition.init == Init::Hutch || definition.source == Source::Host {
        let mut conventions = inits::Conventions::hutch();
        if let Some(signal) = stop_signal {
            conventions.stop = inits::Ask::Signal(signal);
        }
        return Ok(conventions);
    }
    let mut conventions =
        inits::Conventions::for_image(&image::layers(paths, definition)?, stop_signal);
    if let Some(ready) = definition.ready {
        conventions.ready = ready;
    }
    if let Some(seconds) = definition.boot_timeout {
        conventions.boot_timeout = std::time::Duration::from_secs(seconds);
    }
    Ok(conventions)
}

/// Landlock scopes for an environment: see [`crate::landlock::Scopes`]. Only a shared network
/// needs the abstract-socket scope (the host's D-Bus and X11 are there).
pub fn environment_scopes(spec: &SandboxSpec) -> crate::landlock::Scopes {
    crate::landlock::Scopes {
        abstract_sockets: !spec.net.own_namespace(),
        signals: false,
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["dev", "a", "my-env_2.0", &"x".repeat(63)] {
            validate_name(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "/",
            "-x",
            ".hidden",
            "a/b",
            "a b",
            &"x".repeat(64),
            "é",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn create_refuses_an_existing_name_and_leaves_nothing_half_made() {
        let root = tempfile::tempdir().unwrap();
        let dirs = StateDirs {
            data: root.path().join("data"),
        };
        let paths = EnvPaths::new(&dirs, "dev").unwrap();
        let def = Definition {
            name: "dev".into(),
            source: Source::Host,
            profile: "base".into(),
            map_root: false,
            created: 1,
            init: Init::Hutch,
            image: None,
            net: NetSettings::default(),
            mounts: Vec::new(),
            stop_signal: None,
            ready: None,
            boot_timeout: None,
            limits: Default::default(),
        };
        create(&paths, &def).unwrap();
        assert_eq!(paths.load().unwrap(), def);
        let text = std::fs::read_to_string(paths.definition()).unwrap();
        assert!(
            !text.contains("[net]"),
            "no network settings, no table: {text}"
        );
        assert!(matches!(create(&paths, &def), Err(EnvError::Exists { .. })));
        assert!(matches!(
            EnvPaths::new(&dirs, "../x"),
            Err(EnvError::BadName { .. })
        ));
    }

    #[test]
    fn network_settings_round_trip_and_older_definitions_load() {
        let def = Definition {
            name: "web".into(),
            source: Source::Host,
            profile: "base".into(),
            map_root: false,
            created: 1,
            init: Init::Hutch,
            image: None,
            net: NetSettings {
                mode: Some(NetMode::Pasta),
                publish: vec!["127.0.0.1:8080:80".into()],
                host_loopback: false,
                allow_hosts: vec!["a.test".into()],
            },
            mounts: Vec::new(),
            stop_signal: None,
            ready: None,
            boot_timeout: None,
            limits: crate::cgroup::ResourceFlags {
                memory: Some("64M".into()),
                pids: Some("32".into()),
                ..Default::default()
            },
        };
        let text = toml::to_string(&def).unwrap();
        assert!(
            text.contains("[limits]\nmemory = \"64M\"\npids = \"32\""),
            "{text}"
        );
        assert!(
            text.contains("[net]\nmode = \"pasta\"\npublish = [\"127.0.0.1:8080:80\"]"),
            "{text}"
        );
        assert_eq!(toml::from_str::<Definition>(&text).unwrap(), def);
        let old = "name = \"a\"\nsource = \"host\"\nprofile = \"base\"\ncreated = 1\n";
        assert!(toml::from_str::<Definition>(old).unwrap().net.is_empty());
    }
}
