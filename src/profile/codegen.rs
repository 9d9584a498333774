//! Writes `builtin.rs`: each built-in profile as the Rust code that builds what [`super::parse`]
//! makes of its text, so that `hutch run` with a built-in profile does not parse TOML at every
//! start (see `catalog::pre_parsed`). The test below renders the file afresh and fails when the
//! checked-in copy differs; `HUTCH_UPDATE_BUILTIN_PROFILES=1 cargo test --lib builtin_profiles`
//! rewrites it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use super::catalog::{fingerprint, BUILTINS};
use super::*;

/// A value as a Rust expression; `s` is the profile's source, which spans point into.
trait Rust {
    fn rust(&self) -> String;
}

impl Rust for String {
    fn rust(&self) -> String {
        // Debug escapes a string as a Rust string literal.
        format!("{self:?}.into()")
    }
}

macro_rules! rust_as_display {
    ($($t:ty),*) => {$(
        impl Rust for $t {
            fn rust(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
rust_as_display!(bool, u16, u32, u64);

impl<T: Rust> Rust for Option<T> {
    fn rust(&self) -> String {
        match self {
            Some(value) => format!("Some({})", value.rust()),
            None => "None".into(),
        }
    }
}

impl<T: Rust> Rust for Vec<T> {
    fn rust(&self) -> String {
        let items: Vec<String> = self.iter().map(Rust::rust).collect();
        format!("vec![{}]", items.join(", "))
    }
}

impl<T: Rust> Rust for BTreeMap<String, T> {
    fn rust(&self) -> String {
        let items: Vec<String> = self
            .iter()
            .map(|(key, value)| format!("({}, {})", key.rust(), value.rust()))
            .collect();
        format!("BTreeMap::from([{}])", items.join(", "))
    }
}

impl Rust for At {
    fn rust(&self) -> String {
        format!("at(s, {}, {})", self.span.start, self.span.end)
    }
}

impl<T: Rust> Rust for Located<T> {
    fn rust(&self) -> String {
        let Located { value, at } = self;
        format!(
            "located(s, {}, {}, {})",
            value.rust(),
            at.span.start,
            at.span.end
        )
    }
}

impl Rust for MountKind {
    fn rust(&self) -> String {
        format!("super::MountKind::{self:?}")
    }
}

impl Rust for NetMode {
    fn rust(&self) -> String {
        format!("super::NetMode::{self:?}")
    }
}

impl Rust for LandlockMode {
    fn rust(&self) -> String {
        format!("crate::landlock::LandlockMode::{self:?}")
    }
}

impl Rust for LimitValue {
    fn rust(&self) -> String {
        match self {
            LimitValue::Number(n) => format!("super::LimitValue::Number({n})"),
            LimitValue::Fraction(Fraction(text)) => {
                format!(
                    "super::LimitValue::Fraction(super::Fraction({}))",
                    text.rust()
                )
            }
            LimitValue::Text(text) => format!("super::LimitValue::Text({})", text.rust()),
        }
    }
}

impl Rust for MountEntry {
    fn rust(&self) -> String {
        // Destructured, so that a new field fails to compile here until it is written out.
        let MountEntry {
            kind,
            src,
            dst,
            optional,
            create,
            mode,
            at,
        } = self;
        format!(
            "super::MountEntry {{ kind: {}, src: {}, dst: {}, optional: {}, create: {}, mode: {}, \
             at: {} }}",
            kind.rust(),
            src.rust(),
            dst.rust(),
            optional.rust(),
            create.rust(),
            mode.rust(),
            at.rust()
        )
    }
}

impl Rust for EnvSection {
    fn rust(&self) -> String {
        let EnvSection { keep, set, unset } = self;
        format!(
            "EnvSection {{ keep: {}, set: {}, unset: {} }}",
            keep.rust(),
            set.rust(),
            unset.rust()
        )
    }
}

impl Rust for Profile {
    fn rust(&self) -> String {
        let Profile {
            name,
            chain,
            description,
            hostname,
            capabilities,
            map_root,
            mounts,
            limits,
            env,
            net,
            publish,
            host_loopback,
            allow_hosts,
            landlock,
            tcp_bind,
            tcp_connect,
            seccomp_deny,
            seccomp_allow,
            hide,
            scrub_git_config,
            seccomp_socket_families,
        } = self;
        let fields = [
            ("name", name.rust()),
            ("chain", chain.rust()),
            ("description", description.rust()),
            ("hostname", hostname.rust()),
            ("capabilities", capabilities.rust()),
            ("map_root", map_root.rust()),
            ("mounts", mounts.rust()),
            ("limits", limits.rust()),
            ("env", env.rust()),
            ("net", net.rust()),
            ("publish", publish.rust()),
            ("host_loopback", host_loopback.rust()),
            ("allow_hosts", allow_hosts.rust()),
            ("landlock", landlock.rust()),
            ("tcp_bind", tcp_bind.rust()),
            ("tcp_connect", tcp_connect.rust()),
            ("seccomp_deny", seccomp_deny.rust()),
            ("seccomp_allow", seccomp_allow.rust()),
            ("hide", hide.rust()),
            ("scrub_git_config", scrub_git_config.rust()),
            ("seccomp_socket_families", seccomp_socket_families.rust()),
        ];
        let mut out = String::from("Profile {\n");
        for (field, value) in fields {
            let _ = writeln!(out, "        {field}: {value},");
        }
        out.push_str("    }");
        out
    }
}

fn source(name: &str, text: &str) -> Arc<Source> {
    Arc::new(Source {
        name: name.to_owned(),
        path: None,
        text: text.to_owned(),
    })
}

/// The name of the function that builds profile `name`.
fn function(name: &str) -> String {
    name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

/// `builtin.rs` as the built-in profiles' text makes it.
fn render() -> String {
    let mut out = String::from(
        "//! GENERATED from profiles/*.toml by src/profile/codegen.rs; do not edit. After changing a\n\
         //! built-in profile: HUTCH_UPDATE_BUILTIN_PROFILES=1 cargo test --lib builtin_profiles\n\
         //! (a stale copy is not used: `catalog::pre_parsed` parses the text instead).\n\n\
         use std::collections::BTreeMap;\n\
         use std::ops::Range;\n\
         use std::sync::Arc;\n\n\
         use super::{At, EnvSection, Located, Profile, Source};\n\n\
         /// The fingerprint of the text each profile here was made from.\n\
         pub(super) const MADE_FROM: &[(&str, u64)] = &[\n",
    );
    for (name, text) in BUILTINS {
        let _ = writeln!(out, "    ({name:?}, {:#018x}),", fingerprint(text));
    }
    out.push_str(
        "];\n\n\
         /// What `parse` makes of built-in profile `name`'s text, `s`: the profile and its \
         `extends`.\n\
         pub(super) fn parsed(name: &str, s: &Arc<Source>) -> Option<(Profile, Option<Located<String>>)> {\n\
         \x20   match name {\n",
    );
    for (name, _) in BUILTINS {
        let _ = writeln!(out, "        {name:?} => Some({}(s)),", function(name));
    }
    out.push_str(
        "        _ => None,\n    }\n}\n\n\
         fn at(s: &Arc<Source>, start: usize, end: usize) -> At {\n\
         \x20   At::new(s, Range { start, end })\n}\n\n\
         fn located<T>(s: &Arc<Source>, value: T, start: usize, end: usize) -> Located<T> {\n\
         \x20   Located { value, at: at(s, start, end) }\n}\n",
    );
    for (name, text) in BUILTINS {
        let (profile, extends) = parse(&source(name, text)).expect("a built-in profile parses");
        let _ = write!(
            out,
            "\nfn {}(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {{\n    let profile = {};\n    (profile, {})\n}}\n",
            function(name),
            profile.rust(),
            extends.rust()
        );
    }
    out
}

#[test]
fn builtin_profiles_match_their_generated_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/profile/builtin.rs");
    let rendered = render();
    if std::env::var_os("HUTCH_UPDATE_BUILTIN_PROFILES").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == rendered,
        "{} does not match profiles/*.toml\nhint: run \
         HUTCH_UPDATE_BUILTIN_PROFILES=1 cargo test --lib builtin_profiles",
        path.display()
    );
}

#[test]
fn builtin_profiles_built_by_code_equal_the_parsed_text() {
    for (name, text) in BUILTINS {
        let source = source(name, text);
        let parsed = parse(&source).unwrap();
        let built = super::builtin::parsed(name, &source).expect("every built-in is generated");
        assert_eq!(built, parsed, "built-in profile {name}");
    }
}
