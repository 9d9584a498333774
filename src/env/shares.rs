//! Host folders shared with an environment: `hutch create --bind/--ro-bind/--tmpfs`, kept as
//! `[[mount]]` tables in `env.toml` and mounted at every start and reboot, after everything the
//! environment's own root needs (an image's overlay, /proc, /dev, the host environment's home),
//! so that a share can be placed anywhere inside.
//!
//! Sources are resolved once, when the environment is created (relative to the directory
//! `create` ran in), and checked again at every start: a folder removed since fails the start
//! with its name instead of showing an empty directory. Destinations are resolved inside the
//! environment's root at every start like every mount's (see `crate::mounts::target`): a
//! symlink the environment planted at or above one leads somewhere inside it, never onto the
//! host. The real home is never shared unless asked for (`--bind ~/src` is one flag away).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mounts::Mount;
use crate::spec::{Host, MountFlag, SpecError};

/// One `[[mount]]` of `env.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Share {
    #[serde(rename = "type")]
    pub kind: ShareKind,
    /// The host folder or file (absolute, resolved at create); none for a tmpfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<PathBuf>,
    /// Where it appears inside the environment.
    pub dst: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShareKind {
    Bind,
    RoBind,
    Tmpfs,
}

impl ShareKind {
    fn flag(self) -> &'static str {
        match self {
            ShareKind::Bind => "--bind",
            ShareKind::RoBind => "--ro-bind",
            ShareKind::Tmpfs => "--tmpfs",
        }
    }
}

impl std::fmt::Display for Share {
    /// As the flag that made it: `--ro-bind /home/ada/src:/src`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.src {
            Some(src) => write!(
                f,
                "{} {}:{}",
                self.kind.flag(),
                src.display(),
                self.dst.display()
            ),
            None => write!(f, "{} {}", self.kind.flag(), self.dst.display()),
        }
    }
}

/// The shares `hutch create`'s mount flags ask for, checked as `hutch run` checks them.
pub fn from_flags(flags: &[MountFlag], host: &Host) -> Result<Vec<Share>, SpecError> {
    let mut shares = Vec::with_capacity(flags.len());
    for flag in flags {
        // resolve() makes binds of --bind/--ro-bind and a tmpfs of --tmpfs, nothing else.
        shares.push(match flag.resolve(host)? {
            Mount::Bind {
                src,
                dst,
                read_only,
            } => Share {
                kind: if read_only {
                    ShareKind::RoBind
                } else {
                    ShareKind::Bind
                },
                src: Some(src),
                dst,
            },
            Mount::Tmpfs { dst, .. }
            | Mount::Overlay { dst, .. }
            | Mount::Proc { dst }
            | Mount::Dev { dst }
            | Mount::Sysfs { dst } => Share {
                kind: ShareKind::Tmpfs,
                src: None,
                dst,
            },
        });
    }
    Ok(shares)
}

/// The mounts of `shares`, their sources checked to be there still.
pub fn mounts(shares: &[Share]) -> Result<Vec<Mount>, SpecError> {
    shares
        .iter()
        .map(|share| {
            let dst = crate::mounts::normalize(&share.dst);
            let read_only = match share.kind {
                ShareKind::Tmpfs => return Ok(Mount::Tmpfs { dst, mode: 0o755 }),
                ShareKind::Bind => false,
                ShareKind::RoBind => true,
            };
            let src = share.src.clone().unwrap_or_default();
            let origin = format!(
                "{} {}:{} (kept in env.toml by hutch create)",
                share.kind.flag(),
                src.display(),
                dst.display()
            );
            let src = std::fs::canonicalize(&src).map_err(|source| SpecError::MissingSource {
                origin,
                path: src,
                source,
            })?;
            Ok(Mount::Bind {
                src,
                dst,
                read_only,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(cwd: &std::path::Path) -> Host {
        Host {
            uid: 1000,
            gid: 1000,
            user: "ada".into(),
            home: "/home/ada".into(),
            cwd: cwd.into(),
            xdg_runtime_dir: None,
            env: Vec::new(),
        }
    }

    #[test]
    fn flags_become_shares_with_absolute_sources_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        std::fs::create_dir(cwd.join("src")).unwrap();
        let flags = [
            MountFlag::Bind("src".into()),
            MountFlag::RoBind("src:/data".into()),
            MountFlag::Tmpfs("/scratch".into()),
        ];
        let shares = from_flags(&flags, &host(&cwd)).unwrap();
        assert_eq!(shares[0].src.as_deref(), Some(cwd.join("src").as_path()));
        assert_eq!(shares[0].dst, cwd.join("src"));
        assert_eq!(
            (shares[1].kind, shares[1].dst.to_str()),
            (ShareKind::RoBind, Some("/data"))
        );
        assert_eq!(
            (shares[2].kind, shares[2].src.clone()),
            (ShareKind::Tmpfs, None)
        );
        let text = toml::to_string(&Wrapper {
            mount: shares.clone(),
        })
        .unwrap();
        assert!(text.contains("type = \"ro-bind\""), "{text}");
        let back: Wrapper = toml::from_str(&text).unwrap();
        assert_eq!(back.mount, shares);
        let mounts = mounts(&shares).unwrap();
        assert_eq!(
            mounts[1],
            Mount::Bind {
                src: cwd.join("src"),
                dst: "/data".into(),
                read_only: true
            }
        );
        // Gone since: the start fails, naming the share.
        std::fs::remove_dir(cwd.join("src")).unwrap();
        let err = super::mounts(&shares).unwrap_err().to_string();
        assert!(
            err.starts_with("--bind ") && err.contains("env.toml"),
            "{err}"
        );
    }

    #[test]
    fn bad_flags_are_refused_at_create() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path());
        for flag in [
            MountFlag::Bind("/no/such/dir:/x".into()),
            MountFlag::Bind(format!("{}:/x/../../etc", dir.path().display())),
            MountFlag::Tmpfs("relative".into()),
        ] {
            assert!(
                from_flags(std::slice::from_ref(&flag), &h).is_err(),
                "{flag:?}"
            );
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Wrapper {
        mount: Vec<Share>,
    }
}
