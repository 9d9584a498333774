//! Credentials kept out of a sandbox that otherwise sees much of the host (the `ci` profile).
//!
//! Three leaks are closed here, all decided before launch and all pure where they can be:
//! - environment values that look like credentials ([`credential_value`]): URLs with user
//!   information and tokens with well-known prefixes, dropped even from variables a pattern
//!   keeps (`environ` applies it);
//! - credential files and directories of common tools (`[secrets] hide`): a directory becomes an
//!   empty tmpfs, a file the host's /dev/null bound without device access, so opening it fails;
//! - the checkout's `.git/config`, where `actions/checkout` stores the job's token as an
//!   `http.<url>.extraheader`: a sanitised copy ([`sanitize_git_config`]) is bound read-only over
//!   it, so git keeps working inside while the host's file is never written.
//!
//! What was hidden, and why, is kept in [`Hidden`] for `--explain` — names and paths, never
//! values.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::mounts::Mount;

/// What was kept from the sandbox, for `--explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hidden {
    pub variables: Vec<HiddenItem>,
    pub paths: Vec<HiddenItem>,
    /// Generated read-only files bound over host files (sandbox path, contents).
    #[serde(skip)]
    pub files: Vec<(PathBuf, String)>,
}

/// One hidden variable name or path, and why it was hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenItem {
    pub name: String,
    pub why: String,
}

/// Why `value` looks like a credential, or `None`. Looks at every URL in the value and at every
/// word of it, so `--index-url https://u:p@host/` and `token ghp_…` are found too.
pub fn credential_value(value: &str) -> Option<&'static str> {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if url_with_userinfo(value) {
        return Some("a URL with user information (user:password@ or token@)");
    }
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find_map(token_kind)
}

/// Prefixes of tokens that services issue: (prefix, shortest rest, what it is). The rest must be
/// letters, digits, `_` or `-`, so ordinary words (`npm_config`) do not match.
const TOKEN_PREFIXES: &[(&str, usize, &str)] = &[
    ("ghp_", 20, "a GitHub token"),
    ("gho_", 20, "a GitHub token"),
    ("ghu_", 20, "a GitHub token"),
    ("ghs_", 20, "a GitHub token"),
    ("ghr_", 20, "a GitHub token"),
    ("github_pat_", 20, "a GitHub token"),
    ("glpat-", 16, "a GitLab token"),
    ("gldt-", 16, "a GitLab token"),
    ("glrt-", 16, "a GitLab token"),
    ("xoxb-", 10, "a Slack token"),
    ("xoxa-", 10, "a Slack token"),
    ("xoxp-", 10, "a Slack token"),
    ("xoxe-", 10, "a Slack token"),
    ("xapp-", 10, "a Slack token"),
    ("sk_live_", 16, "a Stripe key"),
    ("rk_live_", 16, "a Stripe key"),
    ("sk-ant-", 20, "an Anthropic key"),
    ("npm_", 30, "an npm token"),
    ("pypi-AgE", 16, "a PyPI token"),
    ("dop_v1_", 20, "a DigitalOcean token"),
    ("hf_", 30, "a Hugging Face token"),
];

fn token_kind(word: &str) -> Option<&'static str> {
    for &(prefix, min_rest, what) in TOKEN_PREFIXES {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.len() >= min_rest {
                return Some(what);
            }
        }
    }
    // AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters/digits.
    let aws = (word.starts_with("AKIA") || word.starts_with("ASIA"))
        && word.len() == 20
        && word[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    aws.then_some("an AWS access key id")
}

/// Whether some `scheme://` URL in `text` carries user information (`user:pass@`, `token@`).
fn url_with_userinfo(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority_end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        if let Some(at) = after[..authority_end].rfind('@') {
            if at > 0 {
                return true;
            }
        }
        rest = after;
    }
    false
}

/// `text` with the password of every `scheme://user:password@` URL removed (`scheme://user@`);
/// `None` when there was none.
pub fn strip_url_passwords(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, after) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = after
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(at) if authority[..at].contains(':') => {
                let colon = authority[..at].find(':').expect("checked above");
                out.push_str(&authority[..colon]);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The hide list of a profile turned into mounts: for each path that exists, a tmpfs over a
/// directory or /dev/null over a file. Symlinks are followed, so the file itself is covered.
pub fn hide_mounts(paths: &[String], listed_by: &str, hidden: &mut Hidden) -> Vec<Mount> {
    let mut mounts = Vec::new();
    for path in paths {
        let Ok(real) = std::fs::canonicalize(path) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        let (mount, what) = if meta.is_dir() {
            let mount = Mount::Tmpfs {
                dst: real.clone(),
                mode: 0o700,
            };
            (mount, "credential directory: emptied (tmpfs)")
        } else {
            // Bound without device access (binds are nodev), so opening it fails with EACCES
            // instead of looking like an empty, valid configuration.
            let mount = Mount::Bind {
                src: "/dev/null".into(),
                dst: real.clone(),
                read_only: true,
            };
            (
                mount,
                "credential file: unreadable (/dev/null bound over it)",
            )
        };
        mounts.push(mount);
        hidden.paths.push(HiddenItem {
            name: real.display().to_string(),
            why: format!("{what}; {listed_by}"),
        });
    }
    mounts
}

/// The config file of the git repository `dir` is in: `.git/config` of the first ancestor
/// with a `.git` directory, or for a `.git` file (a linked worktree, a submodule) the config of
/// the repository it points to. `None` outside a repository.
pub fn git_config_of(dir: &Path) -> Option<PathBuf> {
    let mut dir = Some(dir);
    while let Some(here) = dir {
        let dot_git = here.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git.join("config")).filter(|c| c.is_file());
        }
        if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let git_dir = here.join(text.strip_prefix("gitdir:")?.trim());
            // A linked worktree's git dir names the repository's own in `commondir`.
            let common = match std::fs::read_to_string(git_dir.join("commondir")) {
                Ok(common) => git_dir.join(common.trim()),
                Err(_) => git_dir,
            };
            return Some(common.join("config")).filter(|c| c.is_file());
        }
        dir = here.parent();
    }
    None
}

/// A git config with what hands out credentials removed: `http.*.extraheader` (where
/// actions/checkout keeps the job's token), every key of `[credential]` sections (helpers,
/// usernames), `include`/`includeIf` paths (checkout ≥ v6 keeps the token in an included file),
/// `[url "https://user:token@…"]` rewrites, and passwords in URLs of other values. Returns the
/// text and the keys removed (names, never values); `None` when nothing needed removing.
///
/// Line-based, following git-config(1)'s syntax: section and key names are case-insensitive,
/// subsections (`[http "https://host/"]`) are not, a key may follow a section header on the same
/// line, and a value continues on the next line after a trailing `\` outside a comment.
pub fn sanitize_git_config(text: &str) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut removed = Vec::new();
    let mut section = Section::default();
    let mut dropping_continuation = None::<bool>;
    for line in text.split_inclusive('\n') {
        // The rest of a value continued from the previous line.
        if let Some(drop) = dropping_continuation {
            dropping_continuation = continues(line).then_some(drop);
            if !drop {
                out.push_str(line);
            }
            continue;
        }
        let trimmed = line.trim_start();
        let mut entry = trimmed;
        let mut header_kept = String::new();
        if trimmed.starts_with('[') {
            let Some((parsed, after)) = parse_header(trimmed) else {
                // Not a header git accepts: git refuses the whole file, so leave it alone.
                out.push_str(line);
                continue;
            };
            section = parsed;
            entry = after.trim_start();
            let header = &trimmed[..trimmed.len() - after.len()];
            if section.credential_url() {
                removed.push("url.<a URL with credentials>".to_owned());
            } else {
                header_kept = format!("{}{header}", &line[..line.len() - trimmed.len()]);
            }
            if entry.is_empty() || entry.starts_with(['#', ';']) {
                if !section.credential_url() {
                    out.push_str(line);
                }
                continue;
            }
            header_kept.push('\n');
        }
        if entry.is_empty() || entry.starts_with(['#', ';']) {
            out.push_str(line);
            continue;
        }
        let key: String = entry
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        let drop = section.drops(&key);
        if drop {
            out.push_str(&header_kept);
            removed.push(section.describe(&key));
        } else if let Some(clean) = strip_url_passwords(entry) {
            removed.push(format!("the password in {}", section.describe(&key)));
            if header_kept.is_empty() {
                out.push_str(&line[..line.len() - trimmed.len()]);
            } else {
                out.push_str(&header_kept);
            }
            out.push_str(&clean);
        } else {
            out.push_str(line);
        }
        dropping_continuation = continues(entry).then_some(drop);
    }
    (!removed.is_empty()).then_some((out, removed))
}

/// A section header, lower-cased where git ignores case.
#[derive(Debug, Default)]
struct Section {
    name: String,
    sub: Option<String>,
}

impl Section {
    fn credential_url(&self) -> bool {
        self.name == "url" && self.sub.as_deref().is_some_and(url_with_userinfo)
    }

    fn drops(&self, key: &str) -> bool {
        match self.name.as_str() {
            "http" => key == "extraheader",
            "credential" => true,
            "include" | "includeif" => key == "path",
            "url" => self.credential_url(),
            _ => false,
        }
    }

    fn describe(&self, key: &str) -> String {
        match &self.sub {
            Some(sub) if self.name != "url" => format!("{}.{sub}.{key}", self.name),
            _ => format!("{}.{key}", self.name),
        }
    }
}

/// `[name]`, `[name "sub"]` or `[name.sub]` at the start of `line`, and what follows `]`.
fn parse_header(line: &str) -> Option<(Section, &str)> {
    let body = line.strip_prefix('[')?;
    if let Some(space) = body
        .find([' ', '\t'])
        .filter(|&i| i < body.find(']').unwrap_or(0))
    {
        let name = body[..space].to_ascii_lowercase();
        let quoted = body[space..].trim_start().strip_prefix('"')?;
        // Inside the quotes `\"` and `\\` are escapes; the subsection ends at a bare `"`.
        let mut sub = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => sub.push(chars.next()?.1),
                '"' => {
                    let after = quoted[i + 1..].strip_prefix(']')?;
                    return Some((
                        Section {
                            name,
                            sub: Some(sub),
                        },
                        after,
                    ));
                }
                '\n' => return None,
                c => sub.push(c),
            }
        }
        return None;
    }
    let end = body.find(']')?;
    let full = &body[..end];
    let (name, sub) = match full.split_once('.') {
        Some((name, sub)) => (name, Some(sub.to_ascii_lowercase())),
        None => (full, None),
    };
    Some((
        Section {
            name: name.to_ascii_lowercase(),
            sub,
        },
        &body[end + 1..],
    ))
}

/// Whether a key line (or a continued value line) goes on to the next line: it ends in an
/// unescaped `\` that is not inside a comment.
fn continues(line: &str) -> bool {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return true,
            '"' => quoted = !quoted,
            '#' | ';' if !quoted => return false,
            _ => {}
        }
    }
    false
}

/// The files a git config includes (`include.path`, `includeIf.*.path`), resolved as git does:
/// `~/` from `home`, relative paths from the config's directory. actions/checkout ≥ v6 keeps
/// the job's token in such a file, so they are hidden along with the include.
pub fn included_files(text: &str, config_dir: &Path, home: &Path) -> Vec<PathBuf> {
    let mut section = Section::default();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut entry = line.trim_start();
        if entry.starts_with('[') {
            let Some((parsed, after)) = parse_header(entry) else {
                continue;
            };
            section = parsed;
            entry = after.trim_start();
        }
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        if !matches!(section.name.as_str(), "include" | "includeif")
            || !key.trim().eq_ignore_ascii_case("path")
        {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        out.push(match value.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => config_dir.join(value),
        });
    }
    out
}

/// The sanitised `.git/config` of the repository `workdir` is in, as a file to bind over it,
/// with what was removed noted in `hidden`; returns the files it included, to be hidden too.
/// Nothing when there is no repository or nothing to remove; a warning when the config cannot
/// be read.
pub fn git_config_file(
    workdir: &Path,
    home: &Path,
    hidden: &mut Hidden,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let Some(config) = git_config_of(workdir) else {
        return Vec::new();
    };
    let config = std::fs::canonicalize(&config).unwrap_or(config);
    let text = match std::fs::read(&config) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            warnings.push(format!(
                "cannot read {} to remove credentials from it: {err}; it is visible as it is",
                config.display()
            ));
            return Vec::new();
        }
    };
    let Some((clean, removed)) = sanitize_git_config(&text) else {
        return Vec::new();
    };
    let included = included_files(&text, config.parent().unwrap_or(Path::new("/")), home);
    hidden.paths.push(HiddenItem {
        name: config.display().to_string(),
        why: format!(
            "git config shown as a read-only copy without {}",
            removed.join(", ")
        ),
    });
    hidden.files.push((config, clean));
    included.iter().map(|p| p.display().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_values_are_recognised() {
        let token = format!("ghp_{}", "a1B2".repeat(9));
        for value in [
            token.as_str(),
            &format!("token {token}"),
            "postgres://u:PASSWORD@db.example/app",
            "https://0123abcd@o0.ingest.sentry.io/1",
            "--extra-index-url https://me:pw@pypi.example/simple",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            &format!("github_pat_{}", "x".repeat(40)),
            "glpat-abcdefghijklmnopqrst",
            "xoxb-1234-5678-abcdefgh",
            &format!("sk_live_{}", "4".repeat(24)),
            &format!("npm_{}", "Z".repeat(36)),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc",
        ] {
            assert!(credential_value(value).is_some(), "{value}");
        }
        for value in [
            "/usr/local/bin:/usr/bin",
            "https://github.com/org/repo",
            "git@github.com:org/repo.git",
            "en_US.UTF-8",
            "npm_config_cache",
            "ghp_short",
            "AKIAlowercase0000000",
            "AKIAIOSFODNN7EXAMPLEX",
            "mailto:someone@example.org",
            "",
        ] {
            assert_eq!(credential_value(value), None, "{value}");
        }
    }

    #[test]
    fn url_passwords_are_stripped() {
        assert_eq!(
            strip_url_passwords("url = https://x-access-token:ghs_abc@github.com/o/r"),
            Some("url = https://x-access-token@github.com/o/r".into())
        );
        assert_eq!(strip_url_passwords("https://github.com/o/r"), None);
        assert_eq!(strip_url_passwords("ssh://git@host/r"), None);
    }

    const CHECKOUT: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\
        [remote \"origin\"]\n\turl = https://github.com/o/r\n\
        \tfetch = +refs/heads/*:refs/remotes/origin/*\n\
        [http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic XXX\n\
        [credential]\n\thelper = store\n\tusername = me\n";

    #[test]
    fn git_config_loses_tokens_and_keeps_the_rest() {
        let (clean, removed) = sanitize_git_config(CHECKOUT).unwrap();
        assert_eq!(
            clean,
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\
             [remote \"origin\"]\n\turl = https://github.com/o/r\n\
             \tfetch = +refs/heads/*:refs/remotes/origin/*\n\
             [http \"https://github.com/\"]\n[credential]\n"
        );
        assert_eq!(
            removed,
            [
                "http.https://github.com/.extraheader",
                "credential.helper",
                "credential.username"
            ]
        );
        assert_eq!(sanitize_git_config("[core]\n\tbare = false\n"), None);
    }

    #[test]
    fn git_config_odd_formatting() {
        let text = "[HTTP]  ExtraHeader=x\n\
            [Http \"https://a/\"] # c\n  EXTRAHEADER = \"AUTHORIZATION: \\\n basic YYY\"\n\
            \tsslVerify = true\n\
            [http.https://b/]\nextraheader\n\
            [credential \"https://c\"]\n\thelper = !f() { echo password=ZZZ; \\\n}; f\n\
            [core] editor = vi # trailing \\\n\
            [http]\n\textraheader = WWW\n\
            [includeIf \"gitdir:/w/\"]\n\tpath = /tmp/cred.config\n\
            [url \"https://x:TOKEN@github.com/\"]\n\tinsteadOf = https://github.com/\n\
            [remote \"o\"]\n\turl = https://u:PW@h/r\n";
        let (clean, removed) = sanitize_git_config(text).unwrap();
        for secret in ["x\n", "YYY", "ZZZ", "WWW", "cred.config", "TOKEN", "PW"] {
            assert!(!clean.contains(secret), "{secret} in {clean}");
        }
        for kept in [
            "sslVerify = true",
            "[core] editor = vi # trailing \\\n",
            "[http]\n",
            "url = https://u@h/r",
            "[Http \"https://a/\"] # c\n",
        ] {
            assert!(clean.contains(kept), "{kept} not in {clean}");
        }
        assert!(!clean.contains("insteadOf"), "{clean}");
        assert!(removed.contains(&"http.https://a/.extraheader".to_owned()));
        assert!(removed.contains(&"includeif.gitdir:/w/.path".to_owned()));
        assert!(removed.iter().all(|r| !r.contains("TOKEN")), "{removed:?}");
    }

    #[test]
    fn included_config_files_are_found() {
        let text = "[include]\n\tpath = ~/extra.config\n\
            [includeIf \"gitdir:/w/\"]\n\tPath = \"/runner/_temp/git-credentials.config\"\n\
            [core] path = not-an-include\n[include] path=rel.config\n";
        assert_eq!(
            included_files(text, Path::new("/w/.git"), Path::new("/home/u")),
            [
                PathBuf::from("/home/u/extra.config"),
                "/runner/_temp/git-credentials.config".into(),
                "/w/.git/rel.config".into(),
            ]
        );
    }

    #[test]
    fn git_config_is_found_through_dot_git_files() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git/worktrees/wt")).unwrap();
        std::fs::write(repo.join(".git/config"), "").unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        assert_eq!(
            git_config_of(&repo.join("src/deep")),
            Some(repo.join(".git/config"))
        );
        let wt = dir.path().join("wt");
        std::fs::create_dir(&wt).unwrap();
        let git_dir = repo.join(".git/worktrees/wt");
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", git_dir.display())).unwrap();
        std::fs::write(git_dir.join("commondir"), "../..\n").unwrap();
        let found = git_config_of(&wt).unwrap();
        assert_eq!(
            found.canonicalize().unwrap(),
            repo.join(".git/config").canonicalize().unwrap()
        );
        assert_eq!(git_config_of(&dir.path().join("nothing")), None);
    }

    #[test]
    fn hide_list_covers_what_exists() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        std::fs::create_dir(home.join(".aws")).unwrap();
        std::fs::write(home.join(".netrc"), "machine x password y").unwrap();
        std::os::unix::fs::symlink(home.join(".netrc"), home.join(".link")).unwrap();
        let list: Vec<String> = [".aws", ".netrc", ".kube", ".link"]
            .iter()
            .map(|p| home.join(p).display().to_string())
            .collect();
        let mut hidden = Hidden::default();
        let mounts = hide_mounts(&list, "listed", &mut hidden);
        assert_eq!(
            mounts,
            [
                Mount::Tmpfs {
                    dst: home.join(".aws"),
                    mode: 0o700
                },
                Mount::Bind {
                    src: "/dev/null".into(),
                    dst: home.join(".netrc"),
                    read_only: true
                },
                Mount::Bind {
                    src: "/dev/null".into(),
                    dst: home.join(".netrc"),
                    read_only: true
                },
            ]
        );
        assert_eq!(hidden.paths.len(), 3);
    }
}
