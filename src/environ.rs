//! The sandbox's environment variables, built explicitly instead of inherited: only what a rule
//! names passes, so tokens, agent sockets and session buses of the host stay outside.

use std::ffi::{CString, OsString};

use crate::spec::env_block;

/// The rules, in the order they apply: keep from the host, the profile's `set` and `unset`, then
/// `--env` and `--unsetenv` from the command line (which win).
#[derive(Debug, Clone, Default)]
pub struct EnvRules {
    /// Host variable names to pass; a trailing `*` matches a prefix (`LC_*`).
    pub keep: Vec<String>,
    pub set: Vec<(String, String)>,
    pub unset: Vec<String>,
    pub cli_set: Vec<(String, String)>,
    pub cli_unset: Vec<String>,
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
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
    env.retain(|(n, _)| !rules.unset.iter().any(|u| n == u.as_str()));
    for (name, value) in &rules.cli_set {
        set(&mut env, name, value);
    }
    env.retain(|(n, _)| !rules.cli_unset.iter().any(|u| n == u.as_str()));
    env_block(&env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(env: &[CString]) -> Vec<String> {
        env.iter().map(|e| e.to_str().unwrap().to_owned()).collect()
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
