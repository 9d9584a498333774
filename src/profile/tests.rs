//! Profile tests: built-ins resolve, golden `show --resolved` output, one error snapshot per
//! error kind, lookup order, and parser robustness. Golden files live in `tests/golden/`;
//! `HUTCH_UPDATE_GOLDEN=1 cargo test profile` rewrites them.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::spec::{Host, RunRequest, SandboxSpec};

fn vars() -> Vars {
    Vars {
        home: "/home/ada".into(),
        cwd: "/work/project".into(),
        user: "ada".into(),
        uid: 1000,
        xdg_runtime_dir: Some("/run/user/1000".into()),
        workspace: "/work/project".into(),
        data: "/home/ada/.local/share/hutch".into(),
    }
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("HUTCH_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run HUTCH_UPDATE_GOLDEN=1 cargo test profile",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{} differs; run HUTCH_UPDATE_GOLDEN=1 cargo test profile",
        path.display()
    );
}

/// A catalog whose user profiles are `files`, in a temp dir shown as `$DIR` in messages.
struct UserProfiles {
    dir: tempfile::TempDir,
}

impl UserProfiles {
    fn new(files: &[(&str, &str)]) -> UserProfiles {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        UserProfiles { dir }
    }

    fn catalog(&self) -> Catalog {
        Catalog::new(Some(self.dir.path().to_owned()))
    }

    /// The full error a user would see for profile `name`: load, expand, resolve.
    fn error(&self, name: &str) -> String {
        let host = Host {
            uid: 1000,
            gid: 1000,
            user: "ada".into(),
            home: "/home/ada".into(),
            cwd: "/".into(),
            xdg_runtime_dir: None,
            env: Vec::new(),
        };
        let result = self
            .catalog()
            .load(name)
            .map_err(crate::error::Error::from)
            .and_then(|p| p.expanded(&vars()).map_err(Into::into))
            .and_then(|p| {
                let request = RunRequest {
                    profile: name.into(),
                    command: vec!["true".into()],
                    ..Default::default()
                };
                SandboxSpec::resolve(&request, &p, &host).map_err(Into::into)
            });
        let err = result.expect_err("the profile should be rejected");
        let text = crate::error::render(&err, err.hint().as_deref());
        text.replace(&self.dir.path().display().to_string(), "$DIR")
    }
}

#[test]
fn every_builtin_loads_expands_and_resolves() {
    let catalog = Catalog::new(None);
    for entry in catalog.list() {
        let profile = catalog.load(&entry.name).unwrap();
        assert!(
            !profile.description.is_empty(),
            "{} has no description",
            entry.name
        );
        let expanded = profile.expanded(&vars()).unwrap();
        assert!(!expanded.mounts.is_empty(), "{}", entry.name);
        // The resolved TOML parses back as a profile.
        let text = expanded.to_toml();
        let source = Arc::new(Source {
            name: entry.name.clone(),
            path: None,
            text,
        });
        parse(&source).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
    }
}

#[test]
fn resolved_builtins_match_their_golden_files() {
    let catalog = Catalog::new(None);
    for name in ["default", "strict", "dev", "ci"] {
        let text = catalog
            .load(name)
            .unwrap()
            .expanded(&vars())
            .unwrap()
            .to_toml();
        golden(&format!("profile-{name}.toml"), &text);
    }
}

#[test]
fn extends_merges_scalars_and_appends_lists() {
    let dev = Catalog::new(None).load("dev").unwrap();
    assert_eq!(dev.chain, ["base", "default", "dev"]);
    assert_eq!(
        dev.net,
        Some(NetMode::Pasta),
        "dev replaces base's net.mode"
    );
    assert_eq!(
        dev.hostname.as_ref().unwrap().value,
        "sandbox",
        "inherited from base"
    );
    let dsts: Vec<&str> = dev.mounts.iter().map(|m| m.dst.value.as_str()).collect();
    assert_eq!(dsts.first(), Some(&"/"));
    assert_eq!(
        &dsts[dsts.len() - 2..],
        ["${CWD}", "${HOME}"],
        "default's and dev's mounts appended"
    );
}

#[test]
fn user_profile_overrides_builtin_and_paths_load() {
    let user = UserProfiles::new(&[(
        "default.toml",
        "description = \"mine\"\nextends = \"base\"\nhostname = \"box\"\n",
    )]);
    let catalog = user.catalog();
    let profile = catalog.load("default").unwrap();
    assert_eq!(
        (profile.description.as_str(), profile.chain.as_slice()),
        ("mine", &["base".to_owned(), "default".to_owned()][..])
    );
    let entry = catalog
        .list()
        .into_iter()
        .find(|e| e.name == "default")
        .unwrap();
    assert!(entry.overrides_builtin && entry.source.ends_with("default.toml"));
    let by_path = catalog
        .load(&user.dir.path().join("default.toml").display().to_string())
        .unwrap();
    assert_eq!(by_path.hostname.unwrap().value, "box");
}

#[test]
fn error_unknown_key_suggests_the_right_one() {
    let user = UserProfiles::new(&[("typo.toml", "description = \"x\"\nhostnme = \"box\"\n")]);
    golden("errors/unknown-key.txt", &user.error("typo"));
}

#[test]
fn error_wrong_type() {
    let user = UserProfiles::new(&[("t.toml", "hostname = 42\n")]);
    golden("errors/wrong-type.txt", &user.error("t"));
}

#[test]
fn error_bad_value() {
    let user = UserProfiles::new(&[("t.toml", "[landlock]\nmode = \"strict\"\n")]);
    golden("errors/bad-value.txt", &user.error("t"));
}

#[test]
fn error_relative_destination() {
    let user = UserProfiles::new(&[("t.toml", "[[mount]]\ntype = \"tmpfs\"\ndst = \"data\"\n")]);
    golden("errors/relative-dst.txt", &user.error("t"));
}

#[test]
fn error_missing_source() {
    let user = UserProfiles::new(&[(
        "t.toml",
        "[[mount]]\ntype = \"bind\"\nsrc = \"/hutch/none\"\ndst = \"/x\"\n",
    )]);
    golden("errors/missing-src.txt", &user.error("t"));
    let optional = UserProfiles::new(&[(
        "t.toml",
        "[[mount]]\ntype = \"bind\"\nsrc = \"/hutch/none\"\ndst = \"/x\"\noptional = true\n",
    )]);
    optional.catalog().load("t").unwrap();
}

#[test]
fn error_unknown_variable() {
    let user = UserProfiles::new(&[(
        "t.toml",
        "[[mount]]\ntype = \"tmpfs\"\ndst = \"${HOEM}/x\"\n",
    )]);
    golden("errors/unknown-variable.txt", &user.error("t"));
}

#[test]
fn error_unknown_syscall_and_capability() {
    let user = UserProfiles::new(&[
        (
            "s.toml",
            "[seccomp]\ndeny = [\"ptrace\", \"no_such_call\"]\n",
        ),
        ("c.toml", "capabilities = [\"CHOWN\", \"SYS_GOD\"]\n"),
    ]);
    golden("errors/unknown-syscall.txt", &user.error("s"));
    // Capabilities only matter with --map-root; check the lookup directly.
    let profile = user.catalog().load("c").unwrap();
    let err =
        crate::caps::CapSet::from_names(&[&profile.capabilities.unwrap()[1].value]).unwrap_err();
    assert!(err.to_string().contains("SYS_GOD"));
}

#[test]
fn error_missing_profile_lists_the_ones_that_exist() {
    let user = UserProfiles::new(&[("mine.toml", "description = \"m\"\n")]);
    golden("errors/missing-profile.txt", &user.error("nope"));
    let extends = UserProfiles::new(&[("e.toml", "extends = \"nope\"\n")]);
    golden("errors/extends-missing.txt", &extends.error("e"));
}

#[test]
fn error_cycle() {
    let user = UserProfiles::new(&[
        ("a.toml", "extends = \"b\"\n"),
        ("b.toml", "extends = \"a\"\n"),
    ]);
    golden("errors/cycle.txt", &user.error("a"));
    let own = UserProfiles::new(&[("self.toml", "extends = \"self\"\n")]);
    assert!(
        own.error("self").contains("does not exist: \"self\""),
        "{}",
        own.error("self")
    );
    // Extending one's own name means the built-in of that name.
    let tweak = UserProfiles::new(&[(
        "default.toml",
        "extends = \"default\"\nhostname = \"mine\"\n",
    )]);
    assert_eq!(
        tweak.catalog().load("default").unwrap().chain,
        ["base", "default", "default"]
    );
}

#[test]
fn error_syntax() {
    let user = UserProfiles::new(&[("t.toml", "[[mount]\ntype = \"tmpfs\"\n")]);
    golden("errors/syntax.txt", &user.error("t"));
}

fn parse_text(text: &str) {
    let source = Arc::new(Source {
        name: "fuzz".into(),
        path: None,
        text: text.to_owned(),
    });
    if let Ok((profile, _)) = parse(&source) {
        let _ = profile.expanded(&vars());
    }
}

#[test]
fn truncated_builtins_never_panic() {
    for (_, text) in catalog_texts() {
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            parse_text(&text[..end]);
        }
    }
}

fn catalog_texts() -> Vec<(String, String)> {
    let catalog = Catalog::new(None);
    catalog
        .list()
        .into_iter()
        .map(|e| {
            (
                e.name.clone(),
                catalog.source(&e.name, None).unwrap().text.clone(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        parse_text(&text);
    }

    #[test]
    fn mutated_builtins_never_panic(index in 0usize..5, at in 0usize..4000, insert in "[\\[\\]{}=\"'$#\\n a-z0-9.]{0,6}") {
        let texts = catalog_texts();
        let (_, text) = &texts[index % texts.len()];
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut mutated = text[..at].to_owned();
        mutated.push_str(&insert);
        let mut resume = (at + insert.len()).min(text.len());
        while !text.is_char_boundary(resume) {
            resume += 1;
        }
        mutated.push_str(&text[resume..]);
        parse_text(&mutated);
    }
}

#[test]
fn error_bad_limit() {
    let user = UserProfiles::new(&[("t.toml", "[limits]\nnofile = \"lots\"\n")]);
    golden("errors/bad-limit.txt", &user.error("t"));
}

#[test]
fn limits_and_map_root_come_from_the_profile_and_flags_win() {
    let user = UserProfiles::new(&[(
        "t.toml",
        "extends = \"base\"\nmap_root = true\n[limits]\nnofile = 100\ncore = \"0:0\"\n",
    )]);
    let profile = user.catalog().load("t").unwrap().expanded(&vars()).unwrap();
    let host = Host {
        uid: 1000,
        gid: 1000,
        user: "ada".into(),
        home: "/home/ada".into(),
        cwd: "/".into(),
        xdg_runtime_dir: None,
        env: Vec::new(),
    };
    let request = RunRequest {
        profile: "t".into(),
        rlimits: vec!["nofile=50".into()],
        command: vec!["true".into()],
        ..Default::default()
    };
    let spec = SandboxSpec::resolve(&request, &profile, &host).unwrap();
    assert!(spec.ids.map_root);
    let limits: Vec<String> = spec.limits.iter().map(ToString::to_string).collect();
    assert_eq!(limits, ["core=0:0", "nofile=50:50"]);
}

/// Every key the profile format accepts is documented in man/hutch.toml.5: the parser's own
/// "expected one of" list for each table is the source of truth.
#[test]
fn the_format_man_page_documents_every_key() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/hutch.toml.5"))
            .unwrap();
    for probe in [
        "zzz = 1\n",
        "[[mount]]\nzzz = 1\n",
        "[env]\nzzz = 1\n",
        "[net]\nzzz = 1\n",
        "[landlock]\nzzz = 1\n",
        "[seccomp]\nzzz = 1\n",
        "[secrets]\nzzz = 1\n",
    ] {
        let source = Arc::new(Source {
            name: "probe".into(),
            path: None,
            text: probe.into(),
        });
        let err = parse(&source).unwrap_err().to_string();
        let expected = err
            .split(", expected ")
            .nth(1)
            .unwrap_or_else(|| panic!("{err}"));
        for key in expected.split('`').skip(1).step_by(2) {
            assert!(
                [
                    format!(".B {key}"),
                    format!("{key} ="),
                    format!("[{key}]"),
                    format!("[[{key}]]")
                ]
                .iter()
                .any(|k| page.contains(k)),
                "man/hutch.toml.5 lacks `{key}` ({probe:?})"
            );
        }
    }
}

#[test]
fn almost_right_names_and_values_get_a_suggestion() {
    let user = UserProfiles::new(&[
        ("e.toml", "extends = \"defualt\"\n"),
        ("n.toml", "[net]\nmode = \"hots\"\n"),
    ]);
    golden("errors/extends-typo.txt", &user.error("e"));
    golden("errors/net-mode-typo.txt", &user.error("n"));
    let missing = user.error("stirct");
    assert!(
        missing.contains("hint: did you mean `strict`? profiles that exist:"),
        "{missing}"
    );
}

#[test]
fn cgroup_limits_come_from_the_profile_and_flags_win() {
    let user = UserProfiles::new(&[(
        "t.toml",
        "extends = \"base\"\n[limits]\nmemory = \"1G\"\npids = 64\ncpus = 0.5\nnofile = 100\n",
    )]);
    let profile = user.catalog().load("t").unwrap().expanded(&vars()).unwrap();
    let host = Host {
        uid: 1000,
        gid: 1000,
        user: "ada".into(),
        home: "/home/ada".into(),
        cwd: "/".into(),
        xdg_runtime_dir: None,
        env: Vec::new(),
    };
    let request = RunRequest {
        profile: "t".into(),
        resources: crate::cgroup::ResourceFlags {
            memory: Some("64M".into()),
            ..Default::default()
        },
        command: vec!["true".into()],
        ..Default::default()
    };
    let spec = SandboxSpec::resolve(&request, &profile, &host).unwrap();
    assert_eq!(
        spec.resources.to_string(),
        "memory.max=67108864 pids.max=64 cpu.max=50000 100000"
    );
    // The cgroup keys are not rlimits.
    let limits: Vec<String> = spec.limits.iter().map(ToString::to_string).collect();
    assert_eq!(limits, ["nofile=100:100"]);
    let bad = RunRequest {
        resources: crate::cgroup::ResourceFlags {
            pids: Some("many".into()),
            ..Default::default()
        },
        ..request
    };
    let err = SandboxSpec::resolve(&bad, &profile, &host).unwrap_err();
    assert!(err.to_string().starts_with("--pids \"many\""), "{err}");
}

#[test]
fn a_bad_cgroup_limit_in_a_profile_points_at_it() {
    let user = UserProfiles::new(&[("t.toml", "[limits]\nmemory = \"64Q\"\n")]);
    let profile = user.catalog().load("t").unwrap().expanded(&vars()).unwrap();
    let host = Host {
        uid: 1000,
        gid: 1000,
        user: "ada".into(),
        home: "/home/ada".into(),
        cwd: "/".into(),
        xdg_runtime_dir: None,
        env: Vec::new(),
    };
    let err = SandboxSpec::resolve(&RunRequest::default(), &profile, &host).unwrap_err();
    let text = crate::error::render(&err, err.hint().as_deref());
    assert!(text.contains("t.toml:2:"), "{text}");
    assert!(text.contains("limits.memory \"64Q\""), "{text}");
    assert!(text.contains("the same as --memory"), "{text}");
}
