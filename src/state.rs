//! Where hutch keeps state: images and environment definitions under the data directory
//! (`$XDG_DATA_HOME/hutch`), live runtime state (locks, pids, sockets) under the runtime
//! directory (`$XDG_RUNTIME_DIR/hutch`, gone after a host reboot). `--root DIR` puts both under
//! DIR instead (`DIR/data`, `DIR/runtime`): for tests and for several installs side by side.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDirs {
    /// Persistent: `images/`, `envs/`, `homes/`.
    pub data: PathBuf,
    /// Per boot: one directory per running environment.
    pub runtime: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "no place for hutch's state: neither XDG_DATA_HOME nor HOME is set to an absolute path"
    )]
    NoDataDir,
    #[error("no place for runtime state: XDG_RUNTIME_DIR is not set")]
    NoRuntimeDir,
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::NoDataDir => Some("set HOME, or pass --root DIR".into()),
            StateError::NoRuntimeDir => Some(
                "log in through a session that sets XDG_RUNTIME_DIR (systemd-logind), or pass --root DIR; \
                 run `hutch check` for details"
                    .into(),
            ),
        }
    }
}

fn absolute(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<PathBuf> {
    env(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

impl StateDirs {
    /// `root` from `--root`, else the XDG directories from `env` (a lookup, for tests).
    pub fn resolve(
        root: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<StateDirs, StateError> {
        let data = StateDirs::data_dir(root, &env)?;
        let runtime = match root {
            Some(_) => data.with_file_name("runtime"),
            None => absolute(&env, "XDG_RUNTIME_DIR")
                .ok_or(StateError::NoRuntimeDir)?
                .join("hutch"),
        };
        Ok(StateDirs { data, runtime })
    }

    /// The data directory alone, for what needs no runtime state (images).
    pub fn data_dir(
        root: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PathBuf, StateError> {
        if let Some(root) = root {
            let root = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
            return Ok(root.join("data"));
        }
        Ok(absolute(&env, "XDG_DATA_HOME")
            .or_else(|| absolute(&env, "HOME").map(|h| h.join(".local/share")))
            .ok_or(StateError::NoDataDir)?
            .join("hutch"))
    }

    pub fn from_env(root: Option<&Path>) -> Result<StateDirs, StateError> {
        StateDirs::resolve(root, |name| std::env::var(name).ok())
    }

    pub fn images(&self) -> PathBuf {
        self.data.join("images")
    }

    pub fn envs(&self) -> PathBuf {
        self.data.join("envs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_flag_wins_then_xdg_then_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let dirs = StateDirs::resolve(Some(Path::new("/s")), env(&[])).unwrap();
        assert_eq!(
            dirs,
            StateDirs {
                data: "/s/data".into(),
                runtime: "/s/runtime".into()
            }
        );
        let dirs = StateDirs::resolve(
            None,
            env(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/1")]),
        )
        .unwrap();
        assert_eq!(dirs.data, Path::new("/h/.local/share/hutch"));
        assert_eq!(dirs.runtime, Path::new("/run/user/1/hutch"));
        let dirs = StateDirs::resolve(
            None,
            env(&[
                ("XDG_DATA_HOME", "/d"),
                ("HOME", "/h"),
                ("XDG_RUNTIME_DIR", "/r"),
            ]),
        )
        .unwrap();
        assert_eq!(dirs.data, Path::new("/d/hutch"));
        assert!(matches!(
            StateDirs::resolve(None, env(&[("HOME", "/h")])),
            Err(StateError::NoRuntimeDir)
        ));
        assert!(matches!(
            StateDirs::resolve(None, env(&[("HOME", "rel")])),
            Err(StateError::NoDataDir)
        ));
    }
}
