//! The sandbox's environment variables, built explicitly instead of inherited: only what a rule
//! names passes, so tokens, agent sockets and session buses of the host stay outside.

use std::ffi::{CString, OsStr, OsString};

use crate::secrets::{self, HiddenItem};
use crate::spec::env_block;

/// The rules, in the order they apply: keep from the host, the profile's `set` and `unset`, then
/// `--env` and `--unsetenv` from the command line (which win). A variable a `keep` pattern
/// matches passes only when its value does not look like a credential
/// ([`secrets::credential_value`]); one `keep` names exactly passes as it is.
#[derive(Debug, Clone, Default)]
pub struct EnvRules {
    /// Host variable names to pass; `*` matches any run of characters (`LC_*`, `*`).
    pub keep: Vec<String>,
    pub set: Vec<(String, String)>,
    pub unset: Vec<String>,
    pub cli_set: Vec<(String, String)>,
    /// `--env NAME`: host variables passed by name, whatever their value.
    pub cli_pass: Vec<String>,
    pub cli_unset: Vec<String>,
}

/// Glob match where `*` stands for any run of characters (`LC_*`, `*_TOKEN`, `*`).
pub fn matches(pattern: &str, name: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut name) = name.strip_prefix(head) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let tail = parts.pop().unwrap_or("");
    for part in parts {
        match name.find(part) {
            Some(i) => name = &name[i + part.len()..],
            None => return false,
        }
    }
    name.len() >= tail.len() && name.ends_with(tail)
}

/// The sandbox's environment and the host variables that did not pass, with why.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub block: Vec<CString>,
    pub hidden: Vec<HiddenItem>,
}

pub fn build(host: &[(OsString, OsString)], rules: &EnvRules) -> Environment {
    let mut hidden = Vec::new();
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    for (name, value) in host {
        let Some(text) = name.to_str() else {
            continue;
        };
        let hide = |why: String, hidden: &mut Vec<HiddenItem>| {
            hidden.push(HiddenItem {
                name: text.to_owned(),
                why,
            })
        };
        // Named outright, a variable is passed deliberately; matched by a pattern, only when
        // its value does not look like a credential.
        if rules.keep.iter().any(|p| p == text) {
            env.push((name.clone(), value.clone()));
            continue;
        }
        let Some(pattern) = rules.keep.iter().find(|p| matches(p, text)) else {
            hide(
                "not on the allow-list (the profile's env.keep; --env NAME passes it)".into(),
                &mut hidden,
            );
            continue;
        };
        match secrets::credential_value(&value.to_string_lossy()) {
            Some(what) => hide(
                format!(
                    "its value looks like {what}, and only the pattern {pattern:?} keeps it \
                     (keep it by its exact name, or --env {text}, to pass it)"
                ),
                &mut hidden,
            ),
            None => env.push((name.clone(), value.clone())),
        }
    }
    let set = |env: &mut Vec<(OsString, OsString)>, name: &str, value: &OsStr| {
        env.retain(|(n, _)| n != name);
        env.push((name.into(), value.into()));
    };
    for (name, value) in &rules.set {
        set(&mut env, name, OsStr::new(value));
    }
    let unset = |patterns: &[String],
                 why: &str,
                 env: &mut Vec<(OsString, OsString)>,
                 hidden: &mut Vec<HiddenItem>| {
        env.retain(|(n, _)| {
            let Some(n) = n.to_str() else { return true };
            let drop = patterns.iter().any(|p| matches(p, n));
            if drop {
                hidden.push(HiddenItem {
                    name: n.to_owned(),
                    why: why.to_owned(),
                });
            }
            !drop
        });
    };
    unset(
        &rules.unset,
        "unset by the profile (env.unset)",
        &mut env,
        &mut hidden,
    );
    for (name, value) in &rules.cli_set {
        set(&mut env, name, OsStr::new(value));
    }
    for name in &rules.cli_pass {
        if let Some((_, value)) = host.iter().find(|(n, _)| n == name.as_str()) {
            set(&mut env, name, value);
            hidden.retain(|h| h.name != *name);
        }
    }
    unset(&rules.cli_unset, "--unsetenv", &mut env, &mut hidden);
    Environment {
        block: env_block(&env),
        hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(env: &[CString]) -> Vec<String> {
        env.iter().map(|e| e.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn patterns_match_prefixes_suffixes_and_everything() {
        assert!(matches("LC_*", "LC_ALL") && !matches("LC_*", "XLC_ALL"));
        assert!(matches("*_TOKEN", "NPM_TOKEN") && !matches("*_TOKEN", "TOKEN"));
        assert!(matches("*", "ANY") && matches("A*B*C", "AxxBxxC") && !matches("A*B*C", "AxxC"));
        assert!(matches("PATH", "PATH") && !matches("PATH", "PATHS"));
        assert!(!matches("AB*BA", "ABA"));
    }

    #[test]
    fn keeps_only_named_variables_and_cli_wins() {
        let host: Vec<(OsString, OsString)> = [
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("TOKEN", "x"),
            ("HOME", "/h"),
        ]
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let rules = EnvRules {
            keep: vec!["PATH".into(), "LC_*".into()],
            set: vec![("HOME".into(), "/inside".into())],
            unset: vec!["LC_ALL".into()],
            cli_set: vec![("A".into(), "1=2".into()), ("HOME".into(), "/cli".into())],
            cli_pass: vec![],
            cli_unset: vec!["PATH".into()],
        };
        assert_eq!(names(&build(&host, &rules).block), ["A=1=2", "HOME=/cli"]);
    }

    #[test]
    fn credential_values_pass_only_by_exact_name() {
        let token = format!("ghp_{}", "0".repeat(36));
        let host: Vec<(OsString, OsString)> = [
            ("LC_PAPER", token.as_str()),
            ("LC_ALL", "C"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
            ("MY_URL", "postgres://u:pw@h/db"),
            ("GITHUB_TOKEN", "t"),
        ]
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let rules = EnvRules {
            keep: vec!["LC_*".into(), "*_URL".into(), "MY_URL".into()],
            ..Default::default()
        };
        let env = build(&host, &rules);
        assert_eq!(
            names(&env.block),
            ["LC_ALL=C", "MY_URL=postgres://u:pw@h/db"]
        );
        let hidden: Vec<&str> = env.hidden.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(hidden, ["LC_PAPER", "DATABASE_URL", "GITHUB_TOKEN"]);
        assert!(
            env.hidden[0].why.contains("GitHub token"),
            "{:?}",
            env.hidden
        );
        assert!(env
            .hidden
            .iter()
            .all(|h| !h.why.contains("pw") && !h.why.contains("ghp_")));

        let rules = EnvRules {
            cli_pass: vec!["LC_PAPER".into(), "UNSET_ON_HOST".into()],
            ..rules
        };
        let env = build(&host, &rules);
        assert!(names(&env.block).contains(&format!("LC_PAPER={token}")));
        assert!(!env.hidden.iter().any(|h| h.name == "LC_PAPER"));
    }
}
