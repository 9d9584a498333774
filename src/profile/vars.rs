//! `${VARIABLE}` expansion in profile values, from the host's facts.

use std::path::PathBuf;

use super::{At, ProfileError};

/// The values variables expand to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    pub home: PathBuf,
    pub cwd: PathBuf,
    pub user: String,
    pub uid: u32,
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `$GITHUB_WORKSPACE` when set (a CI job's checkout), else the current directory.
    pub workspace: PathBuf,
    /// hutch's data directory: `$XDG_DATA_HOME/hutch`, or `~/.local/share/hutch`.
    pub data: PathBuf,
}

pub const NAMES: &[&str] = &[
    "HOME",
    "CWD",
    "USER",
    "UID",
    "XDG_RUNTIME_DIR",
    "WORKSPACE",
    "HUTCH_DATA",
];

impl Vars {
    fn value(&self, name: &str) -> Option<Option<String>> {
        let path = |p: &PathBuf| Some(p.to_string_lossy().into_owned());
        Some(match name {
            "HOME" => path(&self.home),
            "CWD" => path(&self.cwd),
            "USER" => Some(self.user.clone()),
            "UID" => Some(self.uid.to_string()),
            "XDG_RUNTIME_DIR" => self.xdg_runtime_dir.as_ref().and_then(path),
            "WORKSPACE" => path(&self.workspace),
            "HUTCH_DATA" => path(&self.data),
            _ => return None,
        })
    }

    /// Expand `${NAME}`; a `$` not followed by `{` stays as it is. `at` locates `text`.
    pub fn expand(&self, text: &str, at: &At) -> Result<String, ProfileError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(ProfileError::at(
                    at,
                    "unclosed `${` in a profile value",
                    None,
                ));
            };
            let name = &after[..end];
            match self.value(name) {
                Some(Some(value)) => out.push_str(&value),
                Some(None) => {
                    return Err(ProfileError::at(
                        at,
                        &format!("variable ${{{name}}} is not set on this host"),
                        Some(format!(
                            "set {name} in the environment, or do not use it in this profile"
                        )),
                    ))
                }
                None => {
                    let hint = match super::did_you_mean(name, NAMES.iter().copied()) {
                        Some(close) => format!(
                            "did you mean ${{{close}}}? Known variables: {}",
                            NAMES.join(", ")
                        ),
                        None => format!("known variables: {}", NAMES.join(", ")),
                    };
                    return Err(ProfileError::at(
                        at,
                        &format!("unknown variable ${{{name}}}"),
                        Some(hint),
                    ));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
