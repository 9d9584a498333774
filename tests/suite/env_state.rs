//! Where environments keep their live state, and when hutch refuses to trust it: running
//! environments stay reachable when logind wipes `$XDG_RUNTIME_DIR` at logout or a shell has
//! another one, and state that another user could have written is refused before any pid in
//! it is signalled.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Gid, Pid, Uid};

use super::harness::{eventually, ok, sandbox, stderr, stdout, Sandbox};

/// A uid no test runs as: the "other user" who plants state.
const OTHER_UID: u32 = 54_321;

/// Whether `pid` is a live process (not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
    })
}

fn start_time(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(") ").unwrap().1;
    after.split(' ').nth(19).unwrap().parse().unwrap()
}

/// SIGKILLs the pids on drop, so a failing test leaves no environment running.
struct Reaper(Vec<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
    }
}

/// A directory of the test user's, with `mode`.
fn user_dir(sb: &Sandbox, path: &Path, mode: u32) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    let _ = nix::unistd::chown(
        path,
        Some(Uid::from_raw(sb.launcher.uid)),
        Some(Gid::from_raw(sb.launcher.gid)),
    );
    path.to_owned()
}

/// hutch with XDG directories: data under the work directory, `runtime` as XDG_RUNTIME_DIR
/// (unset when `None`).
fn xdg_hutch(sb: &Sandbox, runtime: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd: Command = sb.hutch(args);
    cmd.env("XDG_DATA_HOME", sb.path().join("data"));
    if let Some(runtime) = runtime {
        cmd.env("XDG_RUNTIME_DIR", runtime);
    }
    cmd.output().expect("spawn hutch")
}

fn state_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn status_of(out: &Output, name: &str) -> serde_json::Value {
    let list: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

/// Logout (logind removing XDG_RUNTIME_DIR) and a shell with another XDG_RUNTIME_DIR, or none:
/// every command still finds the running environment, and stopping it leaves nothing.
#[test]
fn environments_outlive_the_runtime_directory() {
    let Some(sb) = sandbox() else { return };
    let login = user_dir(&sb, &sb.path().join("run-login"), 0o700);
    let other = user_dir(&sb, &sb.path().join("run-other"), 0o700);
    let state_path = sb.path().join("data/hutch/envs/dev/run/state.json");
    ok(&xdg_hutch(&sb, Some(&login), &["create", "dev", "--host"]));
    for shell in ["wiped", "other", "unset"] {
        ok(&xdg_hutch(&sb, Some(&login), &["start", "dev"]));
        let state = state_json(&state_path);
        let supervisor = state["supervisor"].as_i64().unwrap() as i32;
        let init = state["init"].as_i64().unwrap() as i32;
        let _reaper = Reaper(vec![supervisor, init]);
        let runtime = match shell {
            "wiped" => {
                // What logind does at the last logout; the next login makes it anew, empty.
                std::fs::remove_dir_all(&login).unwrap();
                Some(user_dir(&sb, &login, 0o700))
            }
            "other" => Some(other.clone()),
            _ => None,
        };
        let runtime = runtime.as_deref();
        let listed = status_of(&xdg_hutch(&sb, runtime, &["ls", "--json"]), "dev");
        assert_eq!(listed["status"], "running", "{shell}: {listed}");
        assert_eq!(listed["init_pid"], init, "{shell}: {listed}");
        assert_eq!(
            ok(&xdg_hutch(
                &sb,
                runtime,
                &["exec", "dev", "--", "echo", "in"]
            )),
            "in\n",
            "{shell}"
        );
        let again = xdg_hutch(&sb, runtime, &["start", "dev"]);
        ok(&again);
        assert!(
            stderr(&again).contains("already running"),
            "{shell}: {}",
            stderr(&again)
        );
        ok(&xdg_hutch(&sb, runtime, &["restart", "dev"]));
        let restarted = state_json(&state_path);
        assert_ne!(restarted["init"], init, "{shell}: restart gave a new PID 1");
        assert_eq!(restarted["supervisor"], supervisor, "{shell}");
        let new_init = restarted["init"].as_i64().unwrap() as i32;
        let _reaper2 = Reaper(vec![new_init]);
        if shell == "other" {
            ok(&xdg_hutch(&sb, runtime, &["rm", "-f", "dev"]));
            assert!(!sb.path().join("data/hutch/envs/dev").exists());
        } else {
            ok(&xdg_hutch(&sb, runtime, &["stop", "dev"]));
            let listed = status_of(&xdg_hutch(&sb, runtime, &["ls", "--json"]), "dev");
            assert_eq!(listed["status"], "stopped", "{shell}: {listed}");
            assert!(!state_path.parent().unwrap().exists(), "{shell}: run/ left");
        }
        assert!(
            eventually(5, || !alive(supervisor) && !alive(new_init)),
            "{shell}: supervisor {supervisor} or PID 1 {new_init} left running"
        );
        if shell == "other" {
            ok(&xdg_hutch(&sb, Some(&login), &["create", "dev", "--host"]));
        }
    }
    // Nothing of hutch's in either runtime directory.
    for dir in [&login, &other] {
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "{}",
            dir.display()
        );
    }
}

/// With --root, live state is under DIR/data too: DIR/runtime is not used at all.
#[test]
fn root_flag_keeps_live_state_in_the_data_directory() {
    let Some(sb) = sandbox() else { return };
    let root = sb.path().join("state");
    let root_s = root.to_str().unwrap();
    ok(&sb
        .hutch(["--root", root_s, "create", "r", "--host"])
        .output()
        .unwrap());
    ok(&sb.hutch(["--root", root_s, "start", "r"]).output().unwrap());
    let state = state_json(&root.join("data/envs/r/run/state.json"));
    let _reaper = Reaper(vec![
        state["supervisor"].as_i64().unwrap() as i32,
        state["init"].as_i64().unwrap() as i32,
    ]);
    assert!(!root.join("runtime").exists());
    for dir in [
        "data",
        "data/envs",
        "data/images",
        "data/envs/r",
        "data/envs/r/run",
    ] {
        let mode = std::fs::metadata(root.join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{dir}");
    }
    let file = std::fs::metadata(root.join("data/envs/r/run/state.json")).unwrap();
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
    ok(&sb
        .hutch(["--root", root_s, "rm", "-f", "r"])
        .output()
        .unwrap());
}

#[test]
fn a_state_root_others_can_write_is_refused() {
    let Some(sb) = sandbox() else { return };
    let root = user_dir(&sb, &sb.path().join("shared"), 0o775);
    let root_s = root.to_str().unwrap();
    for args in [&["ls"][..], &["create", "x", "--host"], &["image", "ls"]] {
        let mut cmd = sb.hutch(["--root", root_s]);
        cmd.args(args);
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "refusing state in {root_s}: it is writable by its group"
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint:"), "{err}");
    }
    assert!(!root.join("data").exists(), "nothing was created in it");
}

/// Another user (root in this test, chown'ing the file away) rewrites state.json to point at a
/// process of the user's: hutch refuses the file and signals nothing.
#[test]
fn state_planted_by_another_user_is_refused() {
    let Some(sb) = sandbox() else { return };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: planting a file of another uid needs root");
        return;
    }
    let root = sb.path().join("state");
    let root_s = root.to_str().unwrap();
    let hutch = |args: &[&str]| {
        let mut cmd = sb.hutch(["--root", root_s]);
        cmd.args(args);
        cmd.output().unwrap()
    };
    ok(&hutch(&["create", "p", "--host"]));
    ok(&hutch(&["create", "q", "--host"]));
    ok(&hutch(&["start", "p"]));
    let path = root.join("data/envs/p/run/state.json");
    let genuine = std::fs::read(&path).unwrap();
    let state = state_json(&path);
    let _reaper = Reaper(vec![
        state["supervisor"].as_i64().unwrap() as i32,
        state["init"].as_i64().unwrap() as i32,
    ]);
    let mut victim = sb
        .launcher
        .program("sleep", sb.path())
        .arg("600")
        .spawn()
        .unwrap();
    let victim_pid = victim.id() as i32;
    let mut planted = state.clone();
    for (pid, start) in [("supervisor", "supervisor_start"), ("init", "init_start")] {
        planted[pid] = victim_pid.into();
        planted[start] = start_time(victim_pid).into();
    }
    std::fs::write(&path, serde_json::to_vec(&planted).unwrap()).unwrap();
    nix::unistd::chown(&path, Some(Uid::from_raw(OTHER_UID)), None).unwrap();
    for args in [
        &["stop", "p"][..],
        &["rm", "-f", "p"],
        &["restart", "p"],
        &["ls"],
    ] {
        let out = hutch(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "refusing state in {}: it belongs to uid {OTHER_UID}, not to you",
                path.display()
            )),
            "{args:?}: {err}"
        );
        assert!(
            victim.try_wait().unwrap().is_none(),
            "{args:?} signalled the victim"
        );
    }
    // The refused environment does not hide the others from `ls`.
    let listed = hutch(&["ls"]);
    let q_row = stdout(&listed)
        .lines()
        .any(|l| l.split_whitespace().take(2).eq(["q", "stopped"]));
    assert!(q_row, "{}", stdout(&listed));
    // The user's own file, but writable by others: refused as well.
    nix::unistd::chown(&path, Some(Uid::from_raw(sb.launcher.uid)), None).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = hutch(&["stop", "p"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writable by group and others"),
        "{}",
        stderr(&out)
    );
    assert!(
        victim.try_wait().unwrap().is_none(),
        "stop signalled the victim"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
    // The genuine state back: the environment stops as usual.
    std::fs::write(&path, genuine).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&hutch(&["rm", "-f", "p"]));
}
