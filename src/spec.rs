//! The validated sandbox specification: a profile, the command-line flags and the host's facts
//! merged into one plan. Everything below the CLI takes a [`SandboxSpec`] and nothing else, so
//! every bad input is found here, before a namespace or mount exists.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::caps::{self, CapSet, CapsError};
use crate::environ::{self, EnvRules};
use crate::idmap::IdMapping;
use crate::landlock::LandlockMode;
use crate::mounts::Mount;
use crate::profile::{MountKind, Profile};
use crate::seccomp::{self, SeccompError, SeccompPolicy};

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
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountFlag {
    Bind(String),
    RoBind(String),
    Tmpfs(String),
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
    pub fn current() -> Result<Host, SpecError> {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        // The passwd database only when the environment does not say: an NSS lookup loads
        // shared libraries, which costs more than the whole sandbox set-up.
        let passwd = std::cell::OnceCell::new();
        let passwd = || {
            passwd.get_or_init(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
            })
        };
        let user = var("USER")
            .and_then(|u| u.into_string().ok())
            .or_else(|| passwd().as_ref().map(|p| p.name.clone()))
            .unwrap_or_else(|| uid.to_string());
        let home = var("HOME")
            .filter(|h| Path::new(h).is_absolute())
            .map(PathBuf::from)
            .or_else(|| passwd().as_ref().map(|p| p.dir.clone()))
            .unwrap_or_else(|| PathBuf::from("/"));
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
    pub landlock: LandlockMode,
    pub seccomp: SeccompPolicy,
    /// Capabilities the sandbox keeps: none for a user mapped to itself, the profile's list for
    /// root inside.
    pub capabilities: CapSet,
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
    #[error("{origin}: unknown variable ${{{name}}} in {text:?}")]
    UnknownVariable {
        origin: String,
        name: String,
        text: String,
    },
    #[error("{origin}: variable ${{{name}}} is not set on this host")]
    UnsetVariable { origin: String, name: String },
    #[error("{origin}: a {kind} mount needs a source (`src`)")]
    MissingSourceKey { origin: String, kind: &'static str },
    #[error("{origin}: source {path} does not exist or cannot be reached")]
    MissingSource {
        origin: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: destination {path:?} must be an absolute path without `..`")]
    BadDestination { origin: String, path: String },
    #[error("{origin}: expected NAME=VALUE, got {value:?}")]
    BadEnv { origin: String, value: String },
    #[error(
        "--hostname {name:?}: a hostname is 1 to 64 characters of letters, digits, `-` and `.`"
    )]
    BadHostname { name: String },
    #[error("the command contains a NUL byte")]
    NulInCommand,
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
            SpecError::UnknownVariable { .. } => {
                Some(format!("known variables: {}", VARIABLES.join(", ")))
            }
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
            _ => None,
        }
    }
}

const VARIABLES: &[&str] = &["HOME", "CWD", "USER", "UID", "XDG_RUNTIME_DIR"];

impl SandboxSpec {
    pub fn resolve(
        request: &RunRequest,
        profile: &Profile,
        host: &Host,
    ) -> Result<SandboxSpec, SpecError> {
        let mut warnings = Vec::new();
        let mut mounts = Vec::new();
        let profile_origin = |i: usize| format!("profile {:?}, mount #{}", request.profile, i + 1);

        for (i, entry) in profile.mounts.iter().enumerate() {
            let origin = profile_origin(i);
            let dst = destination(&origin, &expand(&entry.dst, host, &origin)?)?;
            let src = match &entry.src {
                Some(src) => Some(PathBuf::from(expand(src, host, &origin)?)),
                None => None,
            };
            let mount = match entry.kind {
                MountKind::Bind | MountKind::RoBind => {
                    let kind = if entry.kind == MountKind::Bind {
                        "bind"
                    } else {
                        "ro-bind"
                    };
                    let src = src.ok_or(SpecError::MissingSourceKey {
                        origin: origin.clone(),
                        kind,
                    })?;
                    let src = match existing_source(&origin, &src, &host.cwd) {
                        Ok(src) => src,
                        Err(_) if entry.optional => continue,
                        Err(err) => return Err(err),
                    };
                    let read_only = entry.kind == MountKind::RoBind;
                    if !read_only && exposes_home(&src, &host.home) {
                        warnings.push(format!(
                            "not making {} writable: it is or holds your home directory; \
                             use --bind {} to mean it",
                            src.display(),
                            src.display()
                        ));
                        continue;
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

        for flag in &request.mounts {
            mounts.push(match flag {
                MountFlag::Bind(arg) => bind_flag("--bind", arg, false, host)?,
                MountFlag::RoBind(arg) => bind_flag("--ro-bind", arg, true, host)?,
                MountFlag::Tmpfs(dst) => Mount::Tmpfs {
                    dst: destination("--tmpfs", dst)?,
                    mode: 0o755,
                },
            });
        }

        let hostname = match &request.hostname {
            Some(name) => valid_hostname(name)?,
            None => match &profile.hostname {
                Some(name) => valid_hostname(&expand(name, host, "profile hostname")?)?,
                None => "sandbox".to_owned(),
            },
        };

        let workdir = match &request.chdir {
            Some(dir) => lexical_absolute(&host.cwd.join(dir)),
            None => host.cwd.clone(),
        };

        let mut set = Vec::new();
        for (name, value) in &profile.env.set {
            set.push((
                name.clone(),
                expand(value, host, &format!("profile env.set.{name}"))?,
            ));
        }
        let mut cli_set = Vec::new();
        for arg in &request.env {
            let (name, value) = arg
                .split_once('=')
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| SpecError::BadEnv {
                    origin: "--env".into(),
                    value: arg.clone(),
                })?;
            cli_set.push((name.to_owned(), value.to_owned()));
        }
        let rules = EnvRules {
            keep: if request.clearenv {
                Vec::new()
            } else {
                profile.env.keep.clone()
            },
            set: if request.clearenv { Vec::new() } else { set },
            unset: if request.clearenv {
                Vec::new()
            } else {
                profile.env.unset.clone()
            },
            cli_set,
            cli_unset: request.unsetenv.clone(),
        };
        let env = environ::build(&host.env, &rules);

        let argv = request
            .command
            .iter()
            .map(|arg| CString::new(arg.as_bytes()).map_err(|_| SpecError::NulInCommand))
            .collect::<Result<Vec<_>, _>>()?;

        let seccomp =
            seccomp::policy(&profile.seccomp.deny, &profile.seccomp.allow).map_err(|source| {
                SpecError::Seccomp {
                    profile: request.profile.clone(),
                    source,
                }
            })?;
        let capabilities = if request.map_root {
            let names: Vec<&str> = match &profile.capabilities {
                Some(names) => names.iter().map(String::as_str).collect(),
                None => caps::ROOT_DEFAULT.to_vec(),
            };
            CapSet::from_names(&names).map_err(|source| SpecError::Capabilities {
                profile: request.profile.clone(),
                source,
            })?
        } else {
            CapSet::default()
        };
        let landlock = request
            .landlock
            .or(profile.landlock.mode)
            .unwrap_or_default();
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
                map_root: request.map_root,
            },
            hostname,
            mounts,
            workdir,
            env,
            landlock,
            seccomp,
            capabilities,
            warnings,
        })
    }
}

/// Expand `${NAME}` variables from the host's facts; anything else after `$` stays as it is.
fn expand(text: &str, host: &Host, origin: &str) -> Result<String, SpecError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| SpecError::UnknownVariable {
            origin: origin.to_owned(),
            name: after.to_owned(),
            text: text.to_owned(),
        })?;
        let name = &after[..end];
        let unset = || SpecError::UnsetVariable {
            origin: origin.to_owned(),
            name: name.to_owned(),
        };
        match name {
            "HOME" => out.push_str(&host.home.to_string_lossy()),
            "CWD" => out.push_str(&host.cwd.to_string_lossy()),
            "USER" => out.push_str(&host.user),
            "UID" => out.push_str(&host.uid.to_string()),
            "XDG_RUNTIME_DIR" => out.push_str(
                &host
                    .xdg_runtime_dir
                    .as_ref()
                    .ok_or_else(unset)?
                    .to_string_lossy(),
            ),
            _ => {
                return Err(SpecError::UnknownVariable {
                    origin: origin.to_owned(),
                    name: name.to_owned(),
                    text: text.to_owned(),
                })
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
    Ok(lexical_absolute(p))
}

/// Normalise `.` and repeated slashes without touching the filesystem.
fn lexical_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
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

fn exposes_home(src: &Path, home: &Path) -> bool {
    home.starts_with(src)
}

fn valid_hostname(name: &str) -> Result<String, SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(SpecError::BadHostname {
            name: name.to_owned(),
        })
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

    fn default_profile() -> Profile {
        Profile::load("default").unwrap()
    }

    #[test]
    fn default_profile_binds_cwd_writable_and_home_as_tmpfs() {
        let cwd = tempfile::tempdir().unwrap();
        let cwd = cwd.path().canonicalize().unwrap();
        let spec = SandboxSpec::resolve(
            &request(&["true"]),
            &default_profile(),
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
    fn cwd_that_holds_home_is_not_made_writable() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let spec =
            SandboxSpec::resolve(&request(&["true"]), &default_profile(), &host(&home, &home))
                .unwrap();
        assert!(!spec.mounts.iter().any(|m| matches!(
            m,
            Mount::Bind {
                read_only: false,
                ..
            }
        )));
        assert_eq!(spec.warnings.len(), 1, "{:?}", spec.warnings);
        let root = SandboxSpec::resolve(
            &request(&["true"]),
            &default_profile(),
            &host(Path::new("/"), &home),
        )
        .unwrap();
        assert!(!root.mounts.iter().any(|m| matches!(
            m,
            Mount::Bind {
                read_only: false,
                ..
            }
        )));
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
        let spec = SandboxSpec::resolve(
            &req,
            &default_profile(),
            &host(&cwd, Path::new("/home/ada")),
        )
        .unwrap();
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
        let p = default_profile();
        let mut req = request(&["true"]);
        req.mounts = vec![MountFlag::Bind("/does/not/exist".into())];
        let err = SandboxSpec::resolve(&req, &p, &h).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--bind /does/not/exist: source /does/not/exist"),
            "{err}"
        );

        req.mounts = vec![MountFlag::Bind("/:../etc".into())];
        assert!(matches!(
            SandboxSpec::resolve(&req, &p, &h),
            Err(SpecError::BadDestination { .. })
        ));
        req.mounts = vec![MountFlag::Tmpfs("/a/../../etc".into())];
        assert!(matches!(
            SandboxSpec::resolve(&req, &p, &h),
            Err(SpecError::BadDestination { .. })
        ));

        let mut req = request(&["true"]);
        req.env = vec!["NOEQUALS".into()];
        assert!(matches!(
            SandboxSpec::resolve(&req, &p, &h),
            Err(SpecError::BadEnv { .. })
        ));

        let mut req = request(&["true"]);
        req.hostname = Some("bad name".into());
        assert!(matches!(
            SandboxSpec::resolve(&req, &p, &h),
            Err(SpecError::BadHostname { .. })
        ));
    }

    #[test]
    fn variables_expand_and_unknown_ones_fail() {
        let h = host(Path::new("/w"), Path::new("/home/ada"));
        assert_eq!(
            expand("${HOME}/x:${USER}:${UID}:${CWD}", &h, "t").unwrap(),
            "/home/ada/x:ada:1000:/w"
        );
        assert!(matches!(
            expand("${NOPE}", &h, "t"),
            Err(SpecError::UnknownVariable { .. })
        ));
        assert!(matches!(
            expand("${HOME", &h, "t"),
            Err(SpecError::UnknownVariable { .. })
        ));
        assert!(matches!(
            expand("${XDG_RUNTIME_DIR}", &h, "t"),
            Err(SpecError::UnsetVariable { .. })
        ));
        assert_eq!(expand("$HOME", &h, "t").unwrap(), "$HOME");
    }

    #[test]
    fn environment_drops_secrets_and_sets_home() {
        let h = host(Path::new("/"), Path::new("/home/ada"));
        let spec = SandboxSpec::resolve(&request(&["true"]), &default_profile(), &h).unwrap();
        assert_eq!(env_lookup(&spec.env, "PATH"), Some(OsStr::new("/usr/bin")));
        assert_eq!(env_lookup(&spec.env, "HOME"), Some(OsStr::new("/home/ada")));
        assert_eq!(env_lookup(&spec.env, "GITHUB_TOKEN"), None);
    }
}
