//! The GitHub Action's scripts (action.yml → scripts/action-*.sh), run here as a runner runs
//! them: as an ordinary user (the test user) with "passwordless sudo" — a fake `sudo` first on
//! PATH that logs and runs the command as that user, as do fake apt-get and apt-cache — with
//! GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, RUNNER_OS/ARCH/TEMP set. The
//! release download is a file:// URL; hutch itself is this build's binary.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::harness::{sandbox, stderr, stdout, Sandbox};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A runner's set-up in the sandbox's work directory: fake tools, files for GITHUB_*.
struct Runner<'a> {
    sb: &'a Sandbox,
    fake_bin: PathBuf,
}

impl<'a> Runner<'a> {
    fn new(sb: &'a Sandbox) -> Runner<'a> {
        let log = sb.path().join("calls.log");
        let tool = |name: &str, body: &str| {
            let path = sb.write(&format!("fake-bin/{name}"), &format!("#!/bin/sh\n{body}\n"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let log = log.display();
        tool(
            "sudo",
            &format!("echo \"sudo $*\" >> {log}\nexec env \"$@\""),
        );
        tool("apt-get", &format!("echo \"apt-get $*\" >> {log}"));
        tool("apt-cache", &format!("echo \"apt-cache $*\" >> {log}"));
        // cargo install --root DIR: "builds" by copying this test build's hutch.
        tool(
            "cargo",
            &format!(
                "echo \"cargo $* CARGO_TARGET_DIR=$CARGO_TARGET_DIR\" >> {log}\n\
                 while [ \"$1\" != --root ]; do shift; done\n\
                 mkdir -p \"$2/bin\" && cp {hutch} \"$2/bin/hutch\"",
                hutch = env!("CARGO_BIN_EXE_hutch")
            ),
        );
        for file in ["output", "env", "path", "calls.log"] {
            sb.write(file, "");
        }
        std::fs::create_dir_all(sb.path().join("temp")).unwrap();
        sb.write("temp/.keep", "");
        Runner {
            sb,
            fake_bin: sb.path().join("fake-bin"),
        }
    }

    /// `bash scripts/SCRIPT` as the runner would, with `vars` as the step's `env:`.
    fn step(&self, script: &str, vars: &[(&str, String)]) -> Output {
        let dir = self.sb.path();
        let mut cmd = self.sb.launcher.program("bash", dir);
        cmd.arg(repo().join("scripts").join(script))
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.fake_bin.display()),
            )
            .env("GITHUB_ACTION_PATH", repo())
            .env("GITHUB_OUTPUT", dir.join("output"))
            .env("GITHUB_ENV", dir.join("env"))
            .env("GITHUB_PATH", dir.join("path"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", dir.join("temp"))
            .env("HUTCH_INSTALL_DIR", dir.join("installed"))
            .env("HUTCH_CACHE_DIR", dir.join("cache"));
        for (name, value) in vars {
            cmd.env(name, value);
        }
        cmd.output().expect("run bash")
    }

    fn outputs(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.sb.path().join("output"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.sb.path().join("calls.log")).unwrap()
    }

    fn installed(&self) -> PathBuf {
        self.sb.path().join("installed/hutch")
    }
}

/// A "release" of this build's hutch under `releases/v9.9.9/` with its checksum file, and the
/// URL pattern that finds it.
fn publish_release(sb: &Sandbox, checksum: Option<&str>) -> String {
    let dir = sb.path().join("releases/v9.9.9");
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("hutch-x86_64-linux");
    std::fs::copy(env!("CARGO_BIN_EXE_hutch"), &binary).unwrap();
    let digest = sha256(&binary);
    if let Some(checksum) = checksum {
        let text = if checksum.is_empty() {
            digest
        } else {
            checksum.to_owned()
        };
        std::fs::write(
            dir.join("hutch-x86_64-linux.sha256"),
            format!("{text}  hutch-x86_64-linux\n"),
        )
        .unwrap();
    }
    format!(
        "file://{}/releases/{{ref}}/hutch-{{arch}}-linux",
        sb.path().display()
    )
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    stdout(&out).split(' ').next().unwrap().to_owned()
}

fn fetch_vars(pattern: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HUTCH_ACTION_REF", "v9.9.9".into()),
        ("HUTCH_ACTION_REPOSITORY", "example/hutch".into()),
        ("HUTCH_RELEASE_URL", pattern.into()),
    ]
}

#[track_caller]
fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "step failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

#[test]
fn a_published_release_is_verified_and_installed_without_a_build() {
    let Some(sb) = sandbox() else { return };
    let runner = Runner::new(&sb);
    let pattern = publish_release(&sb, Some(""));
    let fetched = runner.step("action-fetch.sh", &fetch_vars(&pattern));
    succeeded(&fetched);
    let outputs = runner.outputs();
    assert_eq!(outputs["source"], "release", "{outputs:?}");
    assert!(
        outputs["key"].starts_with("hutch-build-Linux-X64-"),
        "{outputs:?}"
    );
    let binary = outputs["binary"].clone();
    let installed = runner.step("action-setup.sh", &[("HUTCH_BINARY", binary)]);
    succeeded(&installed);
    assert_eq!(
        sha256(&runner.installed()),
        sha256(Path::new(env!("CARGO_BIN_EXE_hutch")))
    );
    let calls = runner.calls();
    assert!(!calls.contains("cargo"), "no build: {calls}");
    assert!(calls.contains("sudo install -D -m 0755"), "{calls}");
    assert!(calls.contains("apt-get install"), "{calls}");
    // Installed outside /usr/local/bin: on the job's PATH from the next step on.
    let path = std::fs::read_to_string(sb.path().join("path")).unwrap();
    assert_eq!(
        path.trim(),
        sb.path().join("installed").display().to_string()
    );
    assert!(stdout(&installed).contains("hutch run can work here"));
}

#[test]
fn a_release_that_does_not_match_its_checksum_fails_the_job() {
    let Some(sb) = sandbox() else { return };
    let runner = Runner::new(&sb);
    let wrong = "0".repeat(64);
    let pattern = publish_release(&sb, Some(&wrong));
    let out = runner.step("action-fetch.sh", &fetch_vars(&pattern));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("::error::the release binary at file://")
            && stderr(&out).contains("does not match its checksum"),
        "{}",
        stderr(&out)
    );
    assert!(!runner.outputs().contains_key("source"));
    assert!(
        !sb.path().join("temp/hutch-release/hutch").exists(),
        "removed"
    );
    // A pin given as the input wins over the release's file, and holds the binary to it.
    let mut vars = fetch_vars(&pattern);
    let binary = sb.path().join("releases/v9.9.9/hutch-x86_64-linux");
    vars.push(("HUTCH_RELEASE_SHA256", sha256(&binary)));
    succeeded(&runner.step("action-fetch.sh", &vars));
    assert_eq!(runner.outputs()["source"], "release");
}

#[test]
fn without_a_release_or_its_checksum_hutch_is_built_with_the_cached_target() {
    let Some(sb) = sandbox() else { return };
    let runner = Runner::new(&sb);
    // No release at this ref.
    let pattern = publish_release(&sb, Some(""));
    let mut vars = fetch_vars(&pattern);
    vars[0].1 = "v0.0.0".into();
    let out = runner.step("action-fetch.sh", &vars);
    succeeded(&out);
    assert!(
        stdout(&out).contains("no release binary at file://"),
        "{}",
        stdout(&out)
    );
    // A release without a checksum is not trusted either.
    let unsigned = publish_release(&sb, None);
    std::fs::remove_file(sb.path().join("releases/v9.9.9/hutch-x86_64-linux.sha256")).unwrap();
    let out = runner.step("action-fetch.sh", &fetch_vars(&unsigned));
    succeeded(&out);
    assert!(stdout(&out).contains("has no checksum"), "{}", stdout(&out));
    let outputs = runner.outputs();
    assert_eq!(outputs["source"], "build");
    assert!(!outputs.contains_key("binary"));
    // At a commit, the key is the commit.
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let mut at_commit = fetch_vars(&pattern);
    at_commit[0].1 = commit.into();
    std::fs::write(sb.path().join("output"), "").unwrap();
    succeeded(&runner.step("action-fetch.sh", &at_commit));
    assert_eq!(
        runner.outputs()["key"],
        format!("hutch-build-Linux-X64-{commit}")
    );

    succeeded(&runner.step("action-setup.sh", &[("HUTCH_BINARY", String::new())]));
    let calls = runner.calls();
    let cache = sb.path().join("cache/target");
    assert!(
        calls.contains(&format!(
            "cargo install --locked --path {} --root",
            repo().display()
        )) && calls.contains(&format!("CARGO_TARGET_DIR={}", cache.display())),
        "{calls}"
    );
    assert!(runner.installed().exists());
}

#[test]
fn the_run_step_turns_allow_hosts_into_flags() {
    let Some(sb) = sandbox() else { return };
    let runner = Runner::new(&sb);
    // A stand-in hutch that prints its arguments, one per line.
    let fake = sb.write("fake-bin/hutch", "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = runner.step(
        "action-run.sh",
        &[
            ("HUTCH_SCRIPT", "make test".into()),
            ("HUTCH_PROFILE", "ci".into()),
            (
                "HUTCH_ALLOW_HOSTS",
                "pypi.org, *.debian.org\ndb.example:5432".into(),
            ),
        ],
    );
    succeeded(&out);
    assert_eq!(
        stdout(&out),
        "run\n--profile\nci\n--net\npasta\n--allow-host\npypi.org\n--allow-host\n*.debian.org\n\
         --allow-host\ndb.example:5432\n--\nbash\n--noprofile\n--norc\n-eo\npipefail\n-c\nmake test\n"
    );
    let plain = runner.step("action-run.sh", &[("HUTCH_SCRIPT", "true".into())]);
    assert_eq!(
        stdout(&plain),
        "run\n--profile\nci\n--\nbash\n--noprofile\n--norc\n-eo\npipefail\n-c\ntrue\n"
    );
}

#[test]
fn action_yml_caches_the_build_and_passes_the_inputs() {
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    for needle in [
        "uses: actions/cache@v4",
        "if: steps.fetch.outputs.source == 'build'",
        "key: ${{ steps.fetch.outputs.key }}",
        "~/.cache/hutch-action/target",
        "HUTCH_BINARY: ${{ steps.fetch.outputs.binary }}",
        "HUTCH_ACTION_REF: ${{ github.action_ref }}",
        "HUTCH_ALLOW_HOSTS: ${{ inputs.allow-hosts }}",
        "  allow-hosts:",
    ] {
        assert!(text.contains(needle), "action.yml lacks {needle:?}");
    }
}
