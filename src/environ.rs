//! The sandbox's environment variables, built explicitly instead of inherited: only what a rule
//! names passes, so tokens, agent sockets and session buses of the host stay outside.

use std::ffi::{CString, OsString};

use crate::spec::env_block;

/// The rules, in the order they apply: keep from the host, the profile's `set` and `unset`, then
/// `--env` and `--unsetenv` from the command line (which win).
#[derive(Debug, Clone, Default)]
pub struct EnvRules {
    /// Host variable names to pass; `*` matches any run of characters (`LC_*`, `*`).
    pub keep: Vec<String>,
    pub set: Vec<(String, String)>,
    pub unset: Vec<String>,
    pub cli_set: Vec<(String, String)>,
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

pub fn build(host: &[(OsString, OsString)], rules: &EnvRules) -> Vec<CString> {
    let mut env: Vec<(OsString, OsString)> = host
        .iter()
        .filter(|(name, _)| {
            name.to_str()
                .is_some_and(|n| rules.keep.iter().any(|p| matches(p, n)))
        })
        .cloned()
        .collect();
    let set = |env: &mut Vec<(OsString, OsString)>, name: &str, value: &str| {
        env.retain(|(n, _)| n != name);
        env.push((name.into(), value.into()));
    };
    for (name, value) in &rules.set {
        set(&mut env, name, value);
    }
    let unset = |patterns: &[String], name: &std::ffi::OsStr| {
        name.to_str()
            .is_some_and(|n| patterns.iter().any(|p| matches(p, n)))
    };
    env.retain(|(n, _)| !unset(&rules.unset, n));
    for (name, value) in &rules.cli_set {
        set(&mut env, name, value);
    }
    env.retain(|(n, _)| !unset(&rules.cli_unset, n));
    env_block(&env)
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
            cli_unset: vec!["PATH".into()],
        };
        assert_eq!(names(&build(&host, &rules)), ["A=1=2", "HOME=/cli"]);
    }
}
