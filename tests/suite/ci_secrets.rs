//! The ci profile keeps a CI job's credentials out: variables (by allow-list and by what their
//! values look like), credential files of common tools, and the checkout's token in .git/config.
//! Each test plants the secrets as a runner would and reads them from inside as the test user.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::harness::{ok, sandbox, Sandbox};

fn token(prefix: &str) -> String {
    format!("{prefix}{}", "Zq7".repeat(12))
}

/// A stand-in home outside /tmp (which ci replaces), owned by the test user so that nothing but
/// hutch keeps its files from being read.
fn home_of(sb: &Sandbox) -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix(".hutch-test-home-")
        .tempdir_in(&sb.launcher.home)
        .unwrap();
    give(sb, home.path());
    home
}

fn give(sb: &Sandbox, path: &Path) {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(sb.launcher.uid)),
        Some(nix::unistd::Gid::from_raw(sb.launcher.gid)),
    )
    .unwrap();
}

#[test]
fn ci_environment_passes_an_allow_list_and_no_credential_values() {
    let Some(sb) = sandbox() else { return };
    let ghp = token("ghp_");
    let planted = [
        ("PGPASSWORD", "pg-PLANTED-1".to_owned()),
        ("MYSQL_PWD", "mysql-PLANTED-2".into()),
        (
            "DATABASE_URL",
            "postgres://u:PLANTED-3@db.example/app".into(),
        ),
        ("GITHUB_PAT", token("github_pat_")),
        ("PASSWORD", "PLANTED-4".into()),
        ("SECRET", "PLANTED-5".into()),
        ("TOKEN", "PLANTED-6".into()),
        ("GPG_PASSPHRASE", "PLANTED-7".into()),
        ("DOCKER_AUTH_CONFIG", "{\"auths\":\"PLANTED-8\"}".into()),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/PLANTED-9".into(),
        ),
        (
            "SENTRY_DSN",
            "https://PLANTED10@o1.ingest.sentry.io/2".into(),
        ),
        ("NPM_CONFIG__AUTH", "PLANTED-11".into()),
        ("GITHUB_TOKEN", token("ghs_")),
        ("ACTIONS_RUNTIME_TOKEN", "PLANTED-12".into()),
        // Kept by the pattern LC_*, but its value is a GitHub token.
        ("LC_MONETARY", ghp.clone()),
        ("LC_NUMERIC", "postgres://u:PLANTED-13@h/db".into()),
    ];
    let run = |extra: &[&str]| {
        let mut cmd = sb.hutch(["run", "--profile", "ci"]);
        cmd.args(extra)
            .env("CI", "true")
            .env("GITHUB_SHA", "0123abc")
            .env("CARGO_HOME", "/opt/cargo")
            .env("LC_TIME", "C.UTF-8");
        for (name, value) in &planted {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    };
    let env = ok(&run(&["--", "env"]));
    for (name, value) in &planted {
        assert!(
            !env.contains(value.as_str()),
            "{name}'s value leaked:\n{env}"
        );
        assert!(!env.contains(&format!("{name}=")), "{name} passed:\n{env}");
    }
    for kept in [
        "CI=true",
        "GITHUB_SHA=0123abc",
        "CARGO_HOME=/opt/cargo",
        "LC_TIME=C.UTF-8",
        "LANG=C.UTF-8",
        "PATH=",
        "HOME=",
    ] {
        assert!(
            env.lines().any(|l| l.starts_with(kept)),
            "{kept} missing:\n{env}"
        );
    }

    // Passed by name on purpose, a credential-looking value passes as it is.
    let env = ok(&run(&["--env", "LC_MONETARY", "--", "env"]));
    assert!(env.contains(&format!("LC_MONETARY={ghp}\n")), "{env}");

    // --explain names what was hidden and why, and never shows a value.
    let explained = ok(&run(&["--explain", "--", "true"]));
    let hidden = explained.split("hidden variables").nth(1).unwrap_or("");
    for (name, value) in &planted {
        assert!(
            hidden.contains(&format!("  {name}: ")),
            "{name}:\n{explained}"
        );
        assert!(!explained.contains(value.as_str()), "{name}'s value shown");
    }
    assert!(
        hidden.contains("LC_MONETARY: its value looks like a GitHub token"),
        "{hidden}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&run(&["--explain", "--json", "--", "true"]))).unwrap();
    let names: Vec<&str> = json["hidden"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"PGPASSWORD") && names.contains(&"LC_NUMERIC"));
}

#[test]
fn ci_hides_credential_files_of_common_tools() {
    let Some(sb) = sandbox() else { return };
    let home = home_of(&sb);
    let files = [
        ".netrc",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        ".cargo/credentials.toml",
        ".cargo/credentials",
        ".docker/config.json",
        ".kube/config",
        ".config/gh/hosts.yml",
        ".aws/credentials",
        ".config/gcloud/credentials.db",
        ".azure/msal_token_cache.json",
        ".ssh/id_ed25519",
        ".gnupg/private-keys-v1.d/key",
        "readable",
    ];
    for file in files {
        let path = home.path().join(file);
        for dir in path.ancestors().skip(1) {
            if dir == home.path() {
                break;
            }
            std::fs::create_dir_all(dir).unwrap();
            give(&sb, dir);
        }
        std::fs::write(&path, format!("PLANTED {file}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        give(&sb, &path);
    }
    let script: String = files
        .iter()
        .map(|f| format!("cat ~/{f} 2>&1 || echo \"failed ~/{f}\";"))
        .collect();
    let out = sb
        .hutch(["run", "--profile", "ci", "--", "sh", "-c", &script])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(
        text.contains("PLANTED readable\n"),
        "the home itself stays readable: {text}"
    );
    for file in &files[..files.len() - 1] {
        assert!(
            !text.contains(&format!("PLANTED {file}\n")),
            "{file}:\n{text}"
        );
        assert!(
            text.contains(&format!("failed ~/{file}")),
            "{file}:\n{text}"
        );
        // Files are unreadable; what lives in a hidden directory is gone.
        let how = if [".netrc", ".git-credentials", ".npmrc", ".pypirc"].contains(file)
            || file.starts_with(".cargo/")
        {
            "Permission denied"
        } else {
            "No such file or directory"
        };
        let line = text
            .lines()
            .find(|l| l.contains(&format!("/{file}:")))
            .unwrap_or_else(|| panic!("no error for {file}:\n{text}"));
        assert!(line.contains(how), "{file}: {line}");
    }
    // Nothing on the host changed.
    for file in files {
        let host = std::fs::read_to_string(home.path().join(file)).unwrap();
        assert_eq!(host, format!("PLANTED {file}\n"));
    }

    let explained = ok(&sb
        .hutch(["run", "--profile", "ci", "--explain", "--", "true"])
        .env("HOME", home.path())
        .output()
        .unwrap());
    let paths = explained.split("hidden paths:").nth(1).unwrap_or("");
    for shown in [".netrc: credential file", ".aws: credential directory"] {
        assert!(paths.contains(shown), "{shown}:\n{explained}");
    }
    assert!(!explained.contains("PLANTED"));
}

#[test]
fn ci_shows_the_checkout_without_its_token_and_git_still_commits() {
    let Some(sb) = sandbox() else { return };
    let home = home_of(&sb);
    let git = |args: &[&str]| {
        let mut cmd: Command = sb.launcher.program("git", sb.path());
        cmd.args(args).env("HOME", home.path());
        ok(&cmd.output().unwrap())
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.name", "CI"]);
    git(&["config", "user.email", "ci@example.org"]);
    git(&[
        "config",
        "http.https://github.com/.extraheader",
        "AUTHORIZATION: basic WFhYLXRva2Vu",
    ]);
    git(&["config", "credential.helper", "store --file=/secret/store"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://x-access-token:PLANTED-REMOTE@github.com/o/r",
    ]);
    // actions/checkout ≥ v6 keeps the token in a file the config includes.
    let included = home.path().join("git-credentials.config");
    std::fs::write(
        &included,
        "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic SU5DTFVERUQ=\n",
    )
    .unwrap();
    give(&sb, &included);
    git(&["config", "include.path", included.to_str().unwrap()]);
    sb.write("README", "hello\n");
    git(&["add", "README"]);
    git(&["commit", "-qm", "first"]);
    let config = sb.path().join(".git/config");
    let before = std::fs::read(&config).unwrap();

    let script = "git config --list --show-origin; echo ---; \
                  git status --short && git commit -q --allow-empty -m inside && \
                  git log --format=%s; echo ---; \
                  git config user.name changed 2>&1; echo \"status $?\"; echo ---; \
                  cat ~/git-credentials.config 2>&1; true";
    let out = sb
        .hutch(["run", "--profile", "ci", "--", "sh", "-c", script])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let text = ok(&out);
    let mut parts = text.split("---\n");
    let listed = parts.next().unwrap();
    for gone in [
        "extraheader",
        "WFhYLXRva2Vu",
        "credential",
        "PLANTED-REMOTE",
        "SU5DTFVERUQ",
        "include",
    ] {
        assert!(
            !listed.to_lowercase().contains(&gone.to_lowercase()),
            "{gone}:\n{listed}"
        );
    }
    assert!(
        listed.contains("remote.origin.url=https://x-access-token@github.com/o/r"),
        "{listed}"
    );
    assert!(listed.contains("user.name=CI"), "{listed}");
    assert_eq!(parts.next().unwrap(), "inside\nfirst\n", "{text}");
    let write = parts.next().unwrap();
    assert!(
        write.contains("Read-only file system") || write.contains("Device or resource busy"),
        "the copy cannot be changed: {write}"
    );
    assert!(!write.contains("status 0"), "{write}");
    let included_read = parts.next().unwrap();
    assert!(
        included_read.contains("Permission denied") && !included_read.contains("SU5DTFVERUQ"),
        "{included_read}"
    );

    assert_eq!(
        std::fs::read(&config).unwrap(),
        before,
        "host config changed"
    );
    assert_eq!(git(&["log", "--format=%s"]), "inside\nfirst\n");

    let explained = ok(&sb
        .hutch(["run", "--profile", "ci", "--explain", "--", "true"])
        .env("HOME", home.path())
        .output()
        .unwrap());
    assert!(
        explained.contains(".git/config: git config shown as a read-only copy without http.https://github.com/.extraheader, credential.helper"),
        "{explained}"
    );
    assert!(!explained.contains("WFhYLXRva2Vu") && !explained.contains("PLANTED"));
}
