//! Finding profiles: the user's own in `$XDG_CONFIG_HOME/hutch/profiles/NAME.toml` first, then
//! the built-ins; a name with a `/` or ending in `.toml` is a file path. `extends` chains are
//! followed here, with cycles reported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{builtin, parse, Located, Profile, ProfileError, Source};

/// Built-in profiles, embedded at compile time: (name, TOML text).
pub(super) const BUILTINS: &[(&str, &str)] = &[
    ("base", include_str!("../../profiles/base.toml")),
    ("default", include_str!("../../profiles/default.toml")),
    ("strict", include_str!("../../profiles/strict.toml")),
    ("dev", include_str!("../../profiles/dev.toml")),
    ("ci", include_str!("../../profiles/ci.toml")),
];

/// FNV-1a of `text`: which text `builtin.rs` was made from.
pub(super) const fn fingerprint(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The fingerprints of [`BUILTINS`]' texts, worked out by the compiler.
const BUILTIN_FINGERPRINTS: [u64; BUILTINS.len()] = {
    let mut out = [0; BUILTINS.len()];
    let mut i = 0;
    while i < BUILTINS.len() {
        out[i] = fingerprint(BUILTINS[i].1);
        i += 1;
    }
    out
};

/// A built-in profile as `builtin.rs` builds it, without parsing its TOML (about 60 µs of every
/// `hutch run` with a built-in profile, measured); `None` for anything else, or when
/// `builtin.rs` was made from another text (then the text is parsed as any other).
fn pre_parsed(source: &Arc<Source>) -> Option<(Profile, Option<Located<String>>)> {
    pre_parsed_if_made_from(source, builtin::MADE_FROM)
}

fn pre_parsed_if_made_from(
    source: &Arc<Source>,
    made_from: &[(&str, u64)],
) -> Option<(Profile, Option<Located<String>>)> {
    if source.path.is_some() {
        return None;
    }
    let index = BUILTINS.iter().position(|(name, _)| *name == source.name)?;
    if source.text != BUILTINS[index].1 {
        return None;
    }
    let (_, made_from) = made_from.iter().find(|(name, _)| *name == source.name)?;
    if *made_from != BUILTIN_FINGERPRINTS[index] {
        return None;
    }
    builtin::parsed(&source.name, source)
}

/// Where profiles are looked up.
#[derive(Debug, Clone)]
pub struct Catalog {
    user_dir: Option<PathBuf>,
}

/// One profile in `hutch profile ls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub name: String,
    /// The file, or "built-in".
    pub source: String,
    pub description: String,
    /// A user profile that replaces the built-in of the same name.
    pub overrides_builtin: bool,
}

fn is_path(name: &str) -> bool {
    name.contains('/') || name.ends_with(".toml")
}

impl Catalog {
    pub fn new(user_dir: Option<PathBuf>) -> Catalog {
        Catalog { user_dir }
    }

    /// `$XDG_CONFIG_HOME/hutch/profiles`, or `~/.config/hutch/profiles`.
    pub fn from_env() -> Catalog {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        Catalog::new(config.map(|c| c.join("hutch/profiles")))
    }

    pub fn user_dir_display(&self) -> String {
        self.user_dir.as_ref().map_or_else(
            || "$XDG_CONFIG_HOME/hutch/profiles".into(),
            |d| d.display().to_string(),
        )
    }

    fn read(path: &Path, name: &str) -> Result<Arc<Source>, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(Arc::new(Source {
            name: name.to_owned(),
            path: Some(path.to_owned()),
            text,
        }))
    }

    /// The text of profile `name`; paths are taken relative to `base_dir` (the extending file's
    /// directory) or the current directory.
    pub fn source(&self, name: &str, base_dir: Option<&Path>) -> Result<Arc<Source>, ProfileError> {
        if is_path(name) {
            let path = match base_dir {
                Some(dir) => dir.join(name),
                None => PathBuf::from(name),
            };
            let stem = path
                .file_stem()
                .map_or_else(|| name.to_owned(), |s| s.to_string_lossy().into_owned());
            return Catalog::read(&path, &stem);
        }
        if let Some(dir) = &self.user_dir {
            let path = dir.join(format!("{name}.toml"));
            if path.exists() {
                return Catalog::read(&path, name);
            }
        }
        self.builtin(name)
    }

    fn builtin(&self, name: &str) -> Result<Arc<Source>, ProfileError> {
        match BUILTINS.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => Ok(Arc::new(Source {
                name: name.to_owned(),
                path: None,
                text: (*text).to_owned(),
            })),
            None => Err(ProfileError::NotFound {
                name: name.to_owned(),
                available: self.names(),
                user_dir: self.user_dir_display(),
            }),
        }
    }

    fn names(&self) -> Vec<String> {
        self.list().into_iter().map(|e| e.name).collect()
    }

    /// Load `name` and everything it extends, merged.
    pub fn load(&self, name: &str) -> Result<Profile, ProfileError> {
        let mut chain: Vec<Profile> = Vec::new();
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut next = name.to_owned();
        let mut base_dir: Option<PathBuf> = None;
        let mut extended_at = None;
        loop {
            // A user profile that extends its own name builds on the built-in it replaces.
            let previous = chain.last().map(|p: &Profile| p.name.as_str());
            let lookup = if previous == Some(next.as_str()) && !is_path(&next) {
                self.builtin(&next)
            } else {
                self.source(&next, base_dir.as_deref())
            };
            let source = match lookup {
                Ok(source) => source,
                Err(ProfileError::NotFound { available, .. }) if extended_at.is_some() => {
                    let at: &super::At = extended_at.as_ref().expect("checked");
                    let names = available.iter().map(String::as_str);
                    let hint = match super::source::did_you_mean(&next, names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("profiles that exist: {}", available.join(", ")),
                    };
                    return Err(ProfileError::at(
                        at,
                        &format!("`extends` names a profile that does not exist: {next:?}"),
                        Some(hint),
                    ));
                }
                Err(e) => return Err(e),
            };
            let identity = match &source.path {
                Some(path) => std::fs::canonicalize(path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string(),
                None => format!("built-in {}", source.name),
            };
            if seen.iter().any(|(id, _)| *id == identity) {
                let mut names: Vec<String> = seen.into_iter().map(|(_, n)| n).collect();
                names.push(source.name.clone());
                return Err(ProfileError::Cycle { chain: names });
            }
            seen.push((identity, source.name.clone()));
            let (profile, extends) = match pre_parsed(&source) {
                Some(parsed) => parsed,
                None => parse(&source)?,
            };
            chain.push(profile);
            match extends {
                Some(parent) => {
                    base_dir = source
                        .path
                        .as_ref()
                        .and_then(|p| p.parent())
                        .map(Path::to_owned);
                    next = parent.value.clone();
                    extended_at = Some(parent.at);
                }
                None => break,
            }
        }
        let mut profiles = chain.into_iter().rev();
        let base = profiles
            .next()
            .expect("the chain holds at least the named profile");
        Ok(profiles.fold(base, Profile::merged_with))
    }

    /// Every profile by name: the user's, then built-ins they do not override.
    pub fn list(&self) -> Vec<Entry> {
        let describe = |source: &Arc<Source>| match parse(source) {
            Ok((profile, _)) => profile.description,
            Err(_) => "(invalid: run `hutch profile show` on it for the error)".into(),
        };
        let mut entries = Vec::new();
        if let Some(dir) = &self.user_dir {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            for path in files
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let description = Catalog::read(&path, &name)
                    .map(|s| describe(&s))
                    .unwrap_or_default();
                entries.push(Entry {
                    overrides_builtin: BUILTINS.iter().any(|(n, _)| *n == name),
                    name,
                    source: path.display().to_string(),
                    description,
                });
            }
        }
        for (name, text) in BUILTINS {
            if entries.iter().any(|e| e.name == *name) {
                continue;
            }
            let source = Arc::new(Source {
                name: (*name).to_owned(),
                path: None,
                text: (*text).to_owned(),
            });
            entries.push(Entry {
                name: (*name).to_owned(),
                source: "built-in".into(),
                description: describe(&source),
                overrides_builtin: false,
            });
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_source(name: &str) -> Arc<Source> {
        Catalog::new(None).builtin(name).unwrap()
    }

    #[test]
    fn a_builtin_profile_is_built_without_parsing_its_text() {
        let source = builtin_source("default");
        let built = pre_parsed(&source).expect("default is pre-parsed");
        assert_eq!(built, parse(&source).unwrap());
    }

    #[test]
    fn code_made_from_another_text_is_not_used() {
        let source = builtin_source("default");
        let stale: Vec<(&str, u64)> = builtin::MADE_FROM
            .iter()
            .map(|&(name, fingerprint)| (name, fingerprint ^ 1))
            .collect();
        assert!(pre_parsed_if_made_from(&source, &stale).is_none());
    }

    #[test]
    fn a_user_profile_named_like_a_builtin_is_parsed() {
        let builtin = builtin_source("default");
        let user = Arc::new(Source {
            name: "default".into(),
            path: Some("/home/ada/.config/hutch/profiles/default.toml".into()),
            text: builtin.text.clone(),
        });
        assert!(pre_parsed(&user).is_none());
        let edited = Arc::new(Source {
            name: "default".into(),
            path: None,
            text: format!("{}\n# edited\n", builtin.text),
        });
        assert!(pre_parsed(&edited).is_none());
    }
}
