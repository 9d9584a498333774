//! Profiles from the command line: lookup, user profiles, errors, and the built-ins' promises.

use super::harness::{ok, sandbox, stderr, stdout};

#[test]
fn profile_ls_and_show() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.hutch(["profile", "ls"]).output().unwrap());
    for name in ["default", "strict", "dev", "ci", "base"] {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing: {out}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&sb
        .hutch(["profile", "ls", "--json"])
        .output()
        .unwrap()))
    .unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "ci" && e["source"] == "built-in"));
    let text = ok(&sb.hutch(["profile", "show", "default"]).output().unwrap());
    assert!(text.contains("extends = \"base\""), "{text}");
    let resolved = ok(&sb
        .hutch(["profile", "show", "default", "--resolved"])
        .output()
        .unwrap());
    let home = sb.launcher.home.display().to_string();
    assert!(
        resolved.contains(&format!("dst = \"{home}\"")),
        "{resolved}"
    );
    assert!(!resolved.contains("${"), "variables left: {resolved}");
}

#[test]
fn user_profiles_override_builtins_and_paths_load() {
    let Some(sb) = sandbox() else { return };
    let config = sb.path().join("config");
    sb.write(
        "config/hutch/profiles/default.toml",
        "description = \"mine\"\nextends = \"default\"\nhostname = \"mine\"\n",
    );
    // Run from beside the configuration: a current directory that holds it is not bound.
    sb.write("work/.keep", "");
    let out = sb
        .launcher
        .command(&sb.path().join("work"))
        .args(["run", "--", "hostname"])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .unwrap();
    assert_eq!(ok(&out), "mine\n");
    sb.write(
        "p.toml",
        "extends = \"default\"\nhostname = \"from-path\"\n",
    );
    assert_eq!(
        ok(&sb.run(&["--profile", "./p.toml", "--", "hostname"])),
        "from-path\n"
    );
    // A flag beats the profile.
    assert_eq!(
        ok(&sb.run(&[
            "--profile",
            "./p.toml",
            "--hostname",
            "flag",
            "--",
            "hostname"
        ])),
        "flag\n"
    );
}

#[test]
fn a_broken_profile_is_125_with_its_location() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "bad.toml",
        "extends = \"default\"\n[[mount]]\ntype = \"bind\"\nsrc = \"/hutch/none\"\ndst = \"/x\"\n",
    );
    let out = sb.run(&["--profile", "bad.toml", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:4:7"), "{err}");
    assert!(err.contains("^^^^"), "{err}");
    assert!(err.contains("hint: add `optional = true`"), "{err}");
    let out = sb.run(&["--profile", "nope", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("profiles that exist: base, default, strict, dev, ci"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ci_profile_hides_secrets_and_credentials_and_shares_the_network() {
    let Some(sb) = sandbox() else { return };
    // A stand-in home outside /tmp (which ci replaces), with credentials in it.
    let home = tempfile::Builder::new()
        .prefix(".hutch-test-home-")
        .tempdir_in(&sb.launcher.home)
        .unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(home.path().join(".ssh/id_ed25519"), "PRIVATE").unwrap();
    std::fs::write(home.path().join("notes"), "visible").unwrap();
    let tool = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(home.path(), tool).unwrap();
    let script = "env; echo ---; ls -A ~/.ssh; cat ~/notes; echo; readlink /proc/self/ns/net; touch made-in-ci";
    let out = sb
        .hutch(["run", "--profile", "ci", "--", "sh", "-c", script])
        .env("HOME", home.path())
        .env("GITHUB_TOKEN", "ghs_secret")
        .env("NPM_TOKEN", "npm_secret")
        .env("AWS_SECRET_ACCESS_KEY", "aws_secret")
        .env("SSH_AUTH_SOCK", "/tmp/agent.sock")
        .env("CI", "true")
        .env("GITHUB_WORKSPACE", sb.path())
        .output()
        .unwrap();
    let text = ok(&out);
    let (env, rest) = text.split_once("---\n").unwrap();
    for secret in ["ghs_secret", "npm_secret", "aws_secret", "SSH_AUTH_SOCK"] {
        assert!(!env.contains(secret), "{secret} leaked: {env}");
    }
    assert!(env.contains("CI=true\n"), "{env}");
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines[0], "visible", "home readable, ~/.ssh empty: {rest}");
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(
        lines[1],
        host_net.to_str().unwrap(),
        "ci shares the host's network"
    );
    assert!(
        sb.path().join("made-in-ci").exists(),
        "the workspace is writable"
    );
    let out = sb
        .hutch(["run", "--profile", "ci", "--", "touch", "/home/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn strict_profile_keeps_the_directory_read_only_and_denies_ptrace() {
    let Some(sb) = sandbox() else { return };
    let out = sb.run(&[
        "--profile",
        "strict",
        "--",
        "sh",
        "-c",
        "ls >/dev/null && touch x",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    let out = sb.run(&[
        "--profile",
        "strict",
        "--",
        "python3",
        "-c",
        "import ctypes, errno; l = ctypes.CDLL(None, use_errno=True); \
         r = l.ptrace(0, 0, 0, 0); print(errno.errorcode[ctypes.get_errno()] if r == -1 else 'OK')",
    ]);
    assert_eq!(stdout(&out), "EPERM\n");
}

#[test]
fn dev_profile_keeps_its_home_between_runs() {
    let Some(sb) = sandbox() else { return };
    let data = sb.path().join("data");
    let run = |script: &str| {
        sb.hutch(["run", "--profile", "dev", "--", "sh", "-c", script])
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap()
    };
    ok(&run("echo kept > ~/state"));
    assert_eq!(ok(&run("cat ~/state")), "kept\n");
    let home = data.join("hutch/homes/dev");
    assert_eq!(
        std::fs::read_to_string(home.join("state")).unwrap(),
        "kept\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

/// Every built-in profile starts, and puts the command in the directory it was run from: one in
/// the home (which `dev` covers with its persistent home), one under /tmp (which every profile
/// covers with a tmpfs), and `/` (which none binds writable).
#[test]
fn builtin_profiles_work_from_home_tmp_and_root() {
    let Some(sb) = sandbox() else { return };
    let data = sb.path().join("data");
    let in_home = tempfile::Builder::new()
        .prefix("hutch-test-cwd-")
        .tempdir_in(&sb.launcher.home)
        .unwrap();
    let in_tmp = sb.path().join("project");
    for dir in [in_home.path(), in_tmp.as_path()] {
        std::fs::create_dir_all(dir).unwrap();
        nix::unistd::chown(
            dir,
            Some(nix::unistd::Uid::from_raw(sb.launcher.uid)),
            Some(nix::unistd::Gid::from_raw(sb.launcher.gid)),
        )
        .unwrap();
    }
    let root = std::path::Path::new("/");
    for profile in ["default", "strict", "dev", "ci"] {
        for dir in [in_home.path(), in_tmp.as_path(), root] {
            let out = sb
                .launcher
                .command(dir)
                .args(["run", "--profile", profile, "--", "sh", "-c"])
                .arg("pwd; touch probe 2>/dev/null && echo writable || echo read-only")
                .env("XDG_DATA_HOME", &data)
                .output()
                .unwrap();
            let writable = dir != root && profile != "strict";
            let expected = format!(
                "{}\n{}\n",
                dir.display(),
                if writable { "writable" } else { "read-only" }
            );
            assert_eq!(
                ok(&out),
                expected,
                "--profile {profile} in {}",
                dir.display()
            );
            assert_eq!(dir.join("probe").exists(), writable, "{profile}");
            let _ = std::fs::remove_file(dir.join("probe"));
        }
    }
}
