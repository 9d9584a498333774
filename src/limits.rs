//! Resource limits (setrlimit(2)) the sandbox runs under: `--rlimit NAME=SOFT[:HARD]` and the
//! profile's `[limits]` table. An unprivileged process can lower limits and raise a soft limit
//! up to its hard one, never raise a hard limit; hutch says so instead of failing obscurely.

use nix::sys::resource::{setrlimit, Resource, RLIM_INFINITY};

/// One limit: `name` as in the flag (`nofile`), soft and hard values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

const NAMES: &[(&str, Resource)] = &[
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("unknown resource limit {name:?}")]
    Unknown { name: String },
    #[error("limit {value:?}: expected SOFT[:HARD], each a number or `unlimited`")]
    BadValue { value: String },
    #[error("limit {name}: the soft limit {soft} is above the hard limit {hard}")]
    SoftAboveHard { name: String, soft: u64, hard: u64 },
    #[error("cannot set resource limit {name} to {soft}:{hard}")]
    Set {
        name: &'static str,
        soft: u64,
        hard: u64,
        #[source]
        source: nix::errno::Errno,
    },
}

impl LimitError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LimitError::Unknown { .. } => Some(format!(
                "known limits: {}",
                NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )),
            LimitError::Set { source: nix::errno::Errno::EPERM, .. } => Some(
                "without privileges a hard limit can only be lowered; `ulimit -H` shows the current one".into(),
            ),
            _ => None,
        }
    }
}

fn number(text: &str) -> Option<u64> {
    match text.trim() {
        "unlimited" | "infinity" => Some(RLIM_INFINITY),
        n => n.parse().ok(),
    }
}

/// Parse `name` and `SOFT[:HARD]` (a lone value sets both).
pub fn parse(name: &str, value: &str) -> Result<Limit, LimitError> {
    let (name, resource) = NAMES
        .iter()
        .find(|(n, _)| *n == name.to_ascii_lowercase())
        .copied()
        .ok_or_else(|| LimitError::Unknown {
            name: name.to_owned(),
        })?;
    let bad = || LimitError::BadValue {
        value: value.to_owned(),
    };
    let (soft, hard) = match value.split_once(':') {
        Some((soft, hard)) => (number(soft).ok_or_else(bad)?, number(hard).ok_or_else(bad)?),
        None => {
            let both = number(value).ok_or_else(bad)?;
            (both, both)
        }
    };
    if soft > hard {
        return Err(LimitError::SoftAboveHard {
            name: name.to_owned(),
            soft,
            hard,
        });
    }
    Ok(Limit {
        name,
        resource,
        soft,
        hard,
    })
}

/// Parse a `--rlimit NAME=SOFT[:HARD]` flag.
pub fn parse_flag(flag: &str) -> Result<Limit, LimitError> {
    let (name, value) = flag.split_once('=').ok_or_else(|| LimitError::BadValue {
        value: flag.to_owned(),
    })?;
    parse(name, value)
}

/// `limits` with later entries replacing earlier ones of the same name.
pub fn merge(limits: impl IntoIterator<Item = Limit>) -> Vec<Limit> {
    let mut out: Vec<Limit> = Vec::new();
    for limit in limits {
        out.retain(|l| l.name != limit.name);
        out.push(limit);
    }
    out
}

pub fn apply(limits: &[Limit]) -> Result<(), LimitError> {
    for l in limits {
        setrlimit(l.resource, l.soft, l.hard).map_err(|source| LimitError::Set {
            name: l.name,
            soft: l.soft,
            hard: l.hard,
            source,
        })?;
    }
    Ok(())
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: u64| {
            if v == RLIM_INFINITY {
                "unlimited".to_owned()
            } else {
                v.to_string()
            }
        };
        write!(f, "{}={}:{}", self.name, show(self.soft), show(self.hard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_soft_hard_and_unlimited() {
        assert_eq!(
            parse_flag("nofile=1024:4096").unwrap().to_string(),
            "nofile=1024:4096"
        );
        assert_eq!(
            parse_flag("NOFILE=512").unwrap().to_string(),
            "nofile=512:512"
        );
        assert_eq!(
            parse_flag("core=0:unlimited").unwrap().to_string(),
            "core=0:unlimited"
        );
        assert!(matches!(
            parse_flag("nofiles=1"),
            Err(LimitError::Unknown { .. })
        ));
        assert!(matches!(
            parse_flag("nofile=x"),
            Err(LimitError::BadValue { .. })
        ));
        assert!(matches!(
            parse_flag("nofile"),
            Err(LimitError::BadValue { .. })
        ));
        assert!(matches!(
            parse_flag("nofile=9:1"),
            Err(LimitError::SoftAboveHard { .. })
        ));
    }

    #[test]
    fn later_limits_win() {
        let merged = merge([
            parse_flag("nofile=1").unwrap(),
            parse_flag("core=0").unwrap(),
            parse_flag("nofile=2").unwrap(),
        ]);
        assert_eq!(
            merged.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["core=0:0", "nofile=2:2"]
        );
    }
}
