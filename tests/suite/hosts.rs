//! hutch on hosts as they are: users that no local database knows (LDAP, SSSD, systemd-homed
//! accounts), environments with only some of `$USER`/`$HOME` set.
//!
//! hutch is a static binary, and glibc's NSS crashes a static binary as soon as it has to load a
//! module for a user that is not in /etc/passwd. The tests here start hutch as such a user: a
//! uid that is in no database at all, which only root can become, so they run only as root (as
//! CI does) and say `skipping` otherwise.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::harness::{self, stderr, stdout};

/// A uid and gid with no passwd or group entry anywhere (checked before use).
const UNKNOWN_ID: u32 = 55555;

/// A work directory owned by the unknown uid, and the launcher's copy of hutch it can run.
struct Stranger {
    binary: std::path::PathBuf,
    dir: tempfile::TempDir,
}

fn stranger() -> Option<Stranger> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipping: only root can start hutch as a uid that no database knows");
        return None;
    }
    let launcher = harness::launcher()?;
    assert!(
        harness::passwd_entry(&UNKNOWN_ID.to_string())
            .unwrap()
            .is_none(),
        "uid {UNKNOWN_ID} has a passwd entry on this host; the test needs an unknown one"
    );
    let dir = tempfile::Builder::new()
        .prefix("hutch-stranger-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = Some(UNKNOWN_ID);
    std::os::unix::fs::chown(dir.path(), id, id).unwrap();
    Some(Stranger {
        binary: launcher.binary.clone(),
        dir,
    })
}

impl Stranger {
    /// hutch ARGS as the unknown uid, with only PATH and `env` in its environment.
    fn hutch(&self, env: &[(&str, &Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .uid(UNKNOWN_ID)
            .gid(UNKNOWN_ID);
        cmd.output().expect("spawn hutch")
    }

    fn home(&self) -> std::path::PathBuf {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(UNKNOWN_ID), Some(UNKNOWN_ID)).unwrap();
        home
    }
}

/// Exited by itself, with status `code`: not killed by a signal (SIGSEGV is what NSS did).
#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.signal(),
        None,
        "hutch was killed by a signal\nstderr: {}",
        stderr(out)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn check_works_for_a_uid_no_database_knows() {
    let Some(s) = stranger() else { return };
    let home = s.home();
    for env in [vec![], vec![("HOME", home.as_path())]] {
        let out = s.hutch(&env, &["check"]);
        assert_exit(&out, 0);
        // No name anywhere: the uid stands in for it.
        let text = stdout(&out);
        assert!(
            text.contains(&format!("no range for {UNKNOWN_ID} (uid {UNKNOWN_ID})")),
            "{text}"
        );
    }
}

#[test]
fn run_works_for_a_uid_no_database_knows() {
    let Some(s) = stranger() else { return };
    let home = s.home();
    for env in [vec![], vec![("HOME", home.as_path())]] {
        let out = s.hutch(&env, &["run", "--", "true"]);
        assert_exit(&out, 0);
    }
    // With no $HOME and no passwd entry, the sandbox still gets an empty home of its own.
    let out = s.hutch(&[], &["run", "--", "sh", "-c", "echo $HOME; touch $HOME/x"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), format!("/home/{UNKNOWN_ID}"));
}

#[test]
fn user_and_home_from_the_environment_are_honoured() {
    let Some(s) = stranger() else { return };
    let home = s.home();
    let user = Path::new("ldap-alice");
    let env = [("USER", user), ("HOME", home.as_path())];
    let out = s.hutch(&env, &["check"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("no range for ldap-alice (uid {UNKNOWN_ID})")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/.local/share/hutch", home.display())),
        "{text}"
    );
    // Inside: the same $HOME (an empty tmpfs there), and ${USER} in a profile is $USER.
    let profile = s.dir.path().join("who.toml");
    std::fs::write(
        &profile,
        "extends = \"default\"\n[env]\nset = { WHO = \"${USER}\" }\n",
    )
    .unwrap();
    let profile = profile.to_str().unwrap();
    let out = s.hutch(
        &env,
        &[
            "run",
            "--profile",
            profile,
            "--",
            "sh",
            "-c",
            "echo $WHO $HOME",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out).trim(),
        format!("ldap-alice {}", home.display())
    );
    // LOGNAME stands in for USER.
    let out = s.hutch(
        &[("LOGNAME", user), ("HOME", home.as_path())],
        &["run", "--profile", profile, "--", "sh", "-c", "echo $WHO"],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "ldap-alice");
}

/// This one test launches a sandbox as real root on purpose: it is about the root case itself
/// (CI jobs in containers run as root), where pasta would drop to `nobody` and then could not
/// join the root-owned user namespace. Everything else in the suite runs as the test user.
#[test]
fn pasta_works_when_root_runs_hutch() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipping: the root case needs root");
        return;
    }
    let pasta_installed = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .any(|dir| Path::new(dir).join("pasta").exists());
    if !pasta_installed {
        assert!(
            !harness::strict(),
            "HUTCH_TEST_STRICT=1 and pasta is not installed (passt)"
        );
        eprintln!("skipping: pasta is not installed (package passt)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A connection from inside to the host's loopback, through pasta's gateway mapping: it can
    // only arrive if pasta joined the namespace and configured its network.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_hutch"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/root")
        .env("USER", "root")
        .args([
            "run",
            "--net",
            "pasta",
            "--net-host-loopback",
            "--",
            "bash",
            "-c",
        ])
        .arg(format!(
            "exec 3<>/dev/tcp/host.hutch.internal/{port} && echo connected"
        ))
        .stdin(Stdio::null())
        .output()
        .expect("spawn hutch");
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "connected");
    listener.set_nonblocking(true).unwrap();
    let (_, peer) = listener
        .accept()
        .expect("the sandbox's connection is in the listener's backlog");
    assert!(peer.ip().is_loopback(), "{peer}");
}

/// `hutch check` says where the subordinate ids came from: on this host nsswitch.conf names no
/// `subid:` service, so the files, which is where newuidmap looks too.
#[test]
fn check_names_the_source_of_subordinate_ids() {
    let Some(launcher) = harness::launcher() else {
        return;
    };
    let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let service = hutch::subid::nsswitch_subid_service(&nsswitch);
    let dir = harness::WorkDir::new(launcher);
    let out = launcher
        .command(dir.path())
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (id, file) in [
        ("idmap.subuid", "/etc/subuid"),
        ("idmap.subgid", "/etc/subgid"),
    ] {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        let found = check["found"].as_str().unwrap();
        match &service {
            None => {
                assert_eq!(check["source"], "files", "{check}");
                assert!(found.contains(&format!("in {file}")), "{check}");
            }
            Some(name) => {
                assert_eq!(check["source"], "getsubids", "{check}");
                assert!(found.contains(&format!("subid: {name}")), "{check}");
            }
        }
    }
    let text = launcher.command(dir.path()).arg("check").output().unwrap();
    assert_exit(&text, 0);
    let line = stdout(&text)
        .lines()
        .find(|l| l.contains("idmap.subuid"))
        .unwrap()
        .to_owned();
    let named = match &service {
        None => line.contains("/etc/subuid"),
        Some(_) => line.contains("getsubids"),
    };
    assert!(named, "{line}");
}
