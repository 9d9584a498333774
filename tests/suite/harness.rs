//! Launching the real binary as an unprivileged user.
//!
//! A sandbox launched by root proves nothing about a rootless tool. When the tests run as root
//! (as CI does), every `hutch` is started as the test user (`HUTCH_TEST_USER`, default
//! `hutch-test`), from a copy of the binary that user can reach, in a work directory it owns.
//! If this host cannot run sandboxes, tests print `skipping: <why>` — unless
//! `HUTCH_TEST_STRICT=1`, when they fail.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use nix::unistd::{Gid, Uid};

/// Who runs the sandboxes, and with which binary.
pub struct Launcher {
    pub binary: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    pub name: String,
    /// Whether we are root and switch to `uid`/`gid` for every launch.
    drop_privileges: bool,
}

pub fn strict() -> bool {
    std::env::var_os("HUTCH_TEST_STRICT").is_some_and(|v| v == "1")
}

fn prepare() -> Result<Launcher, String> {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_hutch"));
    if !Uid::effective().is_root() {
        let uid = Uid::current().as_raw().to_string();
        let user = passwd_entry(&uid)?.ok_or("the current user has no passwd entry")?;
        return Ok(Launcher {
            binary: built,
            uid: user.uid,
            gid: user.gid,
            home: user.home,
            name: user.name,
            drop_privileges: false,
        });
    }
    let name = std::env::var("HUTCH_TEST_USER").unwrap_or_else(|_| "hutch-test".into());
    let Some(user) = passwd_entry(&name)? else {
        // Not a skip: the suite is set up wrong, and every test would say so.
        panic!(
            "running as root, and the test user {name:?} (HUTCH_TEST_USER) does not exist. \
             Sandboxes are launched as that unprivileged user; create it with a subordinate id \
             range: `useradd -m {name} && usermod --add-subuids 300000-365535 \
             --add-subgids 300000-365535 {name}`, or run the suite through `.ci/run`, which \
             does this"
        );
    };
    // The checkout may sit under a directory the test user cannot traverse (/root is 0700).
    // One directory per build: test runs of several checkouts at once each launch their own.
    let build = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        built.hash(&mut hasher);
        hasher.finish()
    };
    let dir = std::env::temp_dir().join(format!("hutch-test-bin-{}-{build:016x}", user.uid));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let staged = dir.join(format!("hutch.{}", std::process::id()));
    std::fs::copy(&built, &staged)
        .map_err(|e| format!("copy {} to {}: {e}", built.display(), staged.display()))?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let binary = dir.join("hutch");
    std::fs::rename(&staged, &binary).map_err(|e| e.to_string())?;
    Ok(Launcher {
        binary,
        uid: user.uid,
        gid: user.gid,
        home: user.home,
        name: user.name,
        drop_privileges: true,
    })
}

/// One account, as the passwd database has it.
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The account named `key` (a name or a uid), or `None` if there is none. Asked of `getent`, a
/// dynamic program: this test binary is static (like hutch), and glibc's NSS crashes a static
/// binary when it loads a module (`libnss_systemd`, `libnss_sss`).
pub fn passwd_entry(key: &str) -> Result<Option<PasswdEntry>, String> {
    let out = Command::new("getent")
        .args(["passwd", key])
        .stdin(Stdio::null())
        .output();
    let text = match out {
        // 2: no such key (getent(1)).
        Ok(out) if out.status.code() == Some(2) => return Ok(None),
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => return Err(format!("`getent passwd {key}` failed: {:?}", out.status)),
        // No getent: the local file is all there is to ask.
        Err(_) => {
            std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?
        }
    };
    Ok(text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let [name, _, uid, gid, _, home, ..] = fields[..] else {
            return None;
        };
        if name != key && uid != key {
            return None;
        }
        Some(PasswdEntry {
            name: name.to_owned(),
            uid: uid.parse().ok()?,
            gid: gid.parse().ok()?,
            home: PathBuf::from(home),
        })
    }))
}

fn probe(launcher: &Launcher) -> Result<(), String> {
    let dir = WorkDir::new(launcher);
    let out = launcher
        .command(dir.path())
        .args(["run", "--", "true"])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`hutch run -- true` failed on this host: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

static LAUNCHER: OnceLock<Result<Launcher, String>> = OnceLock::new();

/// The launcher, if this host can run sandboxes; otherwise `None` after saying why (or a panic
/// under `HUTCH_TEST_STRICT=1`).
pub fn launcher() -> Option<&'static Launcher> {
    let result = LAUNCHER.get_or_init(|| {
        let launcher = prepare()?;
        probe(&launcher)?;
        Ok(launcher)
    });
    match result {
        Ok(launcher) => Some(launcher),
        Err(why) if strict() => panic!("HUTCH_TEST_STRICT=1 and sandboxes cannot run: {why}"),
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}

impl Launcher {
    /// `hutch` with a minimal, predictable environment, as the test user, in `cwd`.
    pub fn command(&self, cwd: &Path) -> Command {
        self.program(&self.binary, cwd)
    }

    /// Any program, started the way `command` starts hutch.
    pub fn program(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        if self.drop_privileges {
            // std clears supplementary groups when it switches uid as root.
            cmd.uid(self.uid).gid(self.gid);
        }
        cmd
    }
}

/// A per-test directory owned by the test user, removed at the end of the test.
pub struct WorkDir(tempfile::TempDir);

impl WorkDir {
    pub fn new(launcher: &Launcher) -> WorkDir {
        let dir = tempfile::Builder::new()
            .prefix("hutch-test-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        nix::unistd::chown(
            dir.path(),
            Some(Uid::from_raw(launcher.uid)),
            Some(Gid::from_raw(launcher.gid)),
        )
        .expect("chown work dir to the test user");
        WorkDir(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Create a file in this directory (and its missing parents), owned by `launcher`'s user.
    pub fn write(&self, launcher: &Launcher, relative: &str, contents: &str) -> PathBuf {
        let give = |path: &Path| {
            let (uid, gid) = (Uid::from_raw(launcher.uid), Gid::from_raw(launcher.gid));
            nix::unistd::chown(path, Some(uid), Some(gid)).expect("chown to the test user");
        };
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
            give(parent);
        }
        std::fs::write(&path, contents).unwrap();
        give(&path);
        path
    }
}

/// One test's sandbox launcher and work directory.
pub struct Sandbox {
    pub launcher: &'static Launcher,
    pub dir: WorkDir,
}

pub fn sandbox() -> Option<Sandbox> {
    let launcher = launcher()?;
    Some(Sandbox {
        launcher,
        dir: WorkDir::new(launcher),
    })
}

impl Sandbox {
    /// `hutch ARGS...` in the work directory.
    pub fn hutch<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.launcher.command(self.dir.path());
        cmd.args(args);
        cmd
    }

    /// `hutch run ARGS...`, waited for.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.hutch(["run"]);
        cmd.args(args);
        cmd.output().expect("spawn hutch")
    }

    /// `hutch run -- sh -c SCRIPT`, waited for.
    pub fn sh(&self, script: &str) -> Output {
        self.run(&["--", "sh", "-c", script])
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Create a file in the work directory, owned by the test user.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        self.dir.write(self.launcher, relative, contents)
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert success and return stdout.
#[track_caller]
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "hutch failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// Pids of live processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<u32> {
    processes_where(|cmdline| cmdline.contains(marker))
}

/// Pids of live processes whose command line starts with `prefix`.
pub fn processes_running(prefix: &str) -> Vec<u32> {
    processes_where(|cmdline| cmdline.starts_with(prefix))
}

fn processes_where(matches: impl Fn(&str) -> bool) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| matches(&String::from_utf8_lossy(&c).replace('\0', " ")))
        })
        .filter(|&pid| pid != std::process::id())
        .collect()
}

/// Wait up to `seconds` for `condition`.
pub fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    condition()
}

/// A marker unique to this test process and call, for finding its processes.
pub fn unique_marker() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}.{}",
        7000 + COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    )
}

/// A spawned hutch that is killed if the test fails before waiting for it.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This process's mount table (the host's), one line per mount.
pub fn host_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Fail, naming what appeared and what vanished, unless the mount table is `before` again.
pub fn assert_mounts_unchanged(before: &[String]) {
    let after = host_mounts();
    let added: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    let removed: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "the host's mount table changed\n+ {added:#?}\n- {removed:#?}"
    );
}
