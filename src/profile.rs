//! Profiles: named, reusable sandbox policies written in TOML.
//!
//! A profile says what the sandbox sees (mounts), which environment passes, and the hostname.
//! Built-ins live in `profiles/` and are embedded in the binary. This module only parses; turning
//! a profile plus command-line flags into one validated plan is `spec`'s job.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::landlock::LandlockMode;

/// Built-in profiles, embedded at compile time: (name, TOML text).
const BUILTINS: &[(&str, &str)] = &[("default", include_str!("../profiles/default.toml"))];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub description: String,
    pub hostname: Option<String>,
    #[serde(default, rename = "mount")]
    pub mounts: Vec<MountEntry>,
    #[serde(default)]
    pub env: EnvSection,
    #[serde(default)]
    pub landlock: LandlockSection,
    #[serde(default)]
    pub seccomp: SeccompSection,
    /// Capabilities uid 0 inside keeps (with --map-root); default: podman's list.
    pub capabilities: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandlockSection {
    pub mode: Option<LandlockMode>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompSection {
    /// System calls denied on top of the built-in list.
    #[serde(default)]
    pub deny: Vec<String>,
    /// System calls removed from the built-in list.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountEntry {
    #[serde(rename = "type")]
    pub kind: MountKind,
    pub src: Option<String>,
    pub dst: String,
    /// Skip the mount when its source (or, for tmpfs, its destination) does not exist.
    #[serde(default)]
    pub optional: bool,
    /// Permission bits of a tmpfs' root directory.
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    Bind,
    RoBind,
    Tmpfs,
    Proc,
    Dev,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// Host variables that pass into the sandbox; `NAME*` matches a prefix.
    #[serde(default)]
    pub keep: Vec<String>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub unset: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no profile named {name:?}")]
    NotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("profile {name:?} is not a valid hutch profile:\n{error}")]
    Parse {
        name: String,
        error: toml::de::Error,
    },
}

impl ProfileError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ProfileError::NotFound { available, .. } => {
                Some(format!("profiles that exist: {}", available.join(", ")))
            }
            ProfileError::Parse { .. } => None,
        }
    }
}

impl Profile {
    /// Load a profile by name. Only built-ins exist so far; user profiles come with profile files.
    pub fn load(name: &str) -> Result<Profile, ProfileError> {
        let (_, text) =
            BUILTINS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| ProfileError::NotFound {
                    name: name.to_owned(),
                    available: BUILTINS.iter().map(|(n, _)| n.to_string()).collect(),
                })?;
        Profile::parse(name, text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Profile, ProfileError> {
        toml::from_str(text).map_err(|error| ProfileError::Parse {
            name: name.to_owned(),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses() {
        for (name, _) in BUILTINS {
            let profile = Profile::load(name).unwrap();
            assert!(!profile.description.is_empty(), "{name} has no description");
        }
    }

    #[test]
    fn unknown_profile_lists_the_ones_that_exist() {
        let err = Profile::load("nope").unwrap_err();
        assert_eq!(err.to_string(), "no profile named \"nope\"");
        assert!(err.hint().unwrap().contains("default"));
    }

    #[test]
    fn unknown_key_is_an_error_with_its_position() {
        let err = Profile::parse("t", "hostnme = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("hostnme"), "{err}");
    }
}
