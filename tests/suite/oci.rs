//! `hutch-oci`, driven as an engine drives runc: `create` a busybox bundle, `start`, `state`,
//! `exec`, `kill`, `delete`, as the unprivileged test user.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use super::harness::{eventually, sandbox, stderr, stdout, Sandbox};

/// The test user's copy of hutch-oci, beside its copy of hutch (staged once per test run).
pub(super) fn staged_binary(sb: &Sandbox) -> PathBuf {
    static STAGED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    STAGED.get_or_init(|| stage(sb)).clone()
}

fn stage(sb: &Sandbox) -> PathBuf {
    let built = Path::new(env!("CARGO_BIN_EXE_hutch-oci"));
    let dir = sb.launcher.binary.parent().unwrap();
    let staged = dir.join(format!("hutch-oci.{}", std::process::id()));
    std::fs::copy(built, &staged).unwrap();
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.join("hutch-oci");
    std::fs::rename(&staged, &binary).unwrap();
    binary
}

struct Oci {
    sb: Sandbox,
    binary: PathBuf,
    root: PathBuf,
    bundle: PathBuf,
    /// Containers to remove at the end, whatever happens.
    made: std::cell::RefCell<Vec<String>>,
}

impl Drop for Oci {
    fn drop(&mut self) {
        for id in self.made.borrow().iter() {
            let _ = self.command(&["delete", "--force", id]).output();
        }
    }
}

fn busybox() -> Option<&'static Path> {
    let busybox = Path::new("/bin/busybox");
    if busybox.exists() {
        return Some(busybox);
    }
    assert!(!super::harness::strict(), "install busybox-static");
    eprintln!("skipping: no /bin/busybox (apt install busybox-static)");
    None
}

/// A bundle with a busybox rootfs and the config `hutch-oci spec --rootless` writes, run by
/// `args`, with the bundle's `data/` bound writable at /data.
fn setup(args: &[&str]) -> Option<Oci> {
    let busybox = busybox()?;
    let sb = sandbox()?;
    let binary = staged_binary(&sb);
    let bundle = sb.path().join("bundle");
    let rootfs = bundle.join("rootfs");
    for dir in ["bin", "etc", "proc", "dev", "sys", "tmp", "data"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "id", "cat", "echo", "sleep", "hostname", "grep", "ls", "wc", "true",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::create_dir_all(bundle.join("data")).unwrap();
    let chown = Command::new("chown")
        .args(["-R", &format!("{}:{}", sb.launcher.uid, sb.launcher.gid)])
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(chown.success());
    let oci = Oci {
        root: sb.path().join("state"),
        sb,
        binary,
        bundle,
        made: Default::default(),
    };
    let out = oci
        .command(&["spec", "--rootless", "--bundle", "bundle"])
        .output()
        .unwrap();
    assert!(out.status.success(), "spec: {}", stderr(&out));
    oci.edit(|config| {
        config["process"]["args"] = json!(args);
        config["hostname"] = json!("ocibox");
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "rw"]
        }));
    });
    Some(oci)
}

impl Oci {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.sb.launcher.program(&self.binary, self.sb.path());
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }

    fn edit(&self, change: impl FnOnce(&mut Value)) {
        let path = self.bundle.join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        change(&mut config);
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    }

    /// `create`, with the container's standard streams in `data/stdio` (the container keeps
    /// them open: a pipe would never end).
    fn create(&self, id: &str) -> Output {
        self.made.borrow_mut().push(id.to_owned());
        let stdio = std::fs::File::create(self.sb.path().join("stdio")).unwrap();
        let mut cmd = self.command(&[
            "create",
            "--bundle",
            self.bundle.to_str().unwrap(),
            "--pid-file",
            self.sb.path().join("pid").to_str().unwrap(),
            id,
        ]);
        cmd.stdout(stdio.try_clone().unwrap()).stderr(stdio);
        let status = cmd.status().unwrap();
        Output {
            status,
            stdout: Vec::new(),
            stderr: std::fs::read(self.sb.path().join("stdio")).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    fn state(&self, id: &str) -> Value {
        let out = self.run(&["state", id]);
        assert!(out.status.success(), "state: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn data(&self, name: &str) -> String {
        std::fs::read_to_string(self.bundle.join("data").join(name)).unwrap_or_default()
    }
}

fn alive(pid: i64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

#[test]
fn lifecycle_created_running_stopped_deleted() {
    let Some(oci) = setup(&["sh", "-c", "echo started > /data/out; exec sleep 1000"]) else {
        return;
    };
    let out = oci.create("life");
    assert!(out.status.success(), "create: {}", stderr(&out));
    let state = oci.state("life");
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], "life");
    assert_eq!(state["ociVersion"], "1.2.0");
    let pid = state["pid"].as_i64().unwrap();
    let pid_file = std::fs::read_to_string(oci.sb.path().join("pid")).unwrap();
    assert_eq!(pid_file.trim(), pid.to_string());
    assert!(alive(pid));
    // Created: the program has not run.
    assert_eq!(oci.data("out"), "");
    let out = oci.run(&["start", "life"]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    assert!(eventually(5, || oci.data("out") == "started\n"));
    assert_eq!(oci.state("life")["status"], "running");
    // A second start is refused.
    let out = oci.run(&["start", "life"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is running, not created"),
        "{}",
        stderr(&out)
    );
    // delete refuses a running container without --force.
    let out = oci.run(&["delete", "life"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not stopped"), "{}", stderr(&out));
    let out = oci.run(&["kill", "life", "KILL"]);
    assert!(out.status.success(), "kill: {}", stderr(&out));
    assert!(eventually(5, || oci.state("life")["status"] == "stopped"));
    assert_eq!(oci.state("life")["pid"], 0);
    let out = oci.run(&["delete", "life"]);
    assert!(out.status.success(), "delete: {}", stderr(&out));
    let out = oci.run(&["state", "life"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(!oci.root.join("life").exists());
    // Deleting it again is an error, but not with --force (runc's answer, which containerd's
    // shim relies on when it cleans up).
    let out = oci.run(&["delete", "life"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = oci.run(&["delete", "--force", "life"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_container_sees_its_own_names_ids_and_read_only_paths() {
    let script = "hostname > /data/out; id -u >> /data/out; \
                  grep CapEff /proc/self/status >> /data/out; \
                  echo x 2>>/data/out > /proc/sys/kernel/domainname; \
                  echo x 2>>/data/out > /etc/planted; \
                  wc -c < /proc/cpuinfo >> /data/out; ls /proc/tty | wc -l >> /data/out; \
                  echo done >> /data/out";
    let Some(oci) = setup(&["sh", "-c", script]) else {
        return;
    };
    oci.edit(|config| {
        config["linux"]["maskedPaths"] = json!(["/proc/cpuinfo", "/proc/tty", "/proc/absent"]);
    });
    assert!(oci.create("names").status.success());
    assert!(oci.run(&["start", "names"]).status.success());
    assert!(eventually(5, || oci.data("out").ends_with("done\n")));
    let out = oci.data("out");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ocibox");
    assert_eq!(lines[1], "0");
    // spec --rootless keeps CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE.
    assert_eq!(lines[2], "CapEff:\t0000000020000420");
    // readonlyPaths (/proc/sys) and root.readonly hold against root of the container.
    assert!(lines[3].contains("Read-only file system"), "{out}");
    assert!(lines[4].contains("Read-only file system"), "{out}");
    // maskedPaths: a file is /dev/null, a directory an empty tmpfs; absent ones are skipped.
    assert_eq!(lines[5].trim(), "0");
    assert_eq!(lines[6].trim(), "0");
    let _ = oci.run(&["delete", "--force", "names"]);
}

#[test]
fn exec_joins_the_container_and_passes_the_status_through() {
    let Some(oci) = setup(&["sleep", "1000"]) else {
        return;
    };
    assert!(oci.create("ex").status.success());
    assert!(oci.run(&["start", "ex"]).status.success());
    let out = oci.run(&["exec", "ex", "sh", "-c", "hostname; id -u; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ocibox\n0\n");
    let out = oci.run(&["exec", "ex", "no-such-program"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
    let out = oci.run(&["ps", "--format", "json", "ex"]);
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pids, [oci.state("ex")["pid"].as_i64().unwrap()]);
    let out = oci.run(&["delete", "--force", "ex"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_killed_container_is_stopped_and_can_be_deleted() {
    let Some(oci) = setup(&["sleep", "1000"]) else {
        return;
    };
    assert!(oci.create("crash").status.success());
    let pid = oci.state("crash")["pid"].as_i64().unwrap();
    // SIGKILL from outside hutch-oci, before start: nothing of hutch-oci's is told.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(5, || oci.state("crash")["status"] == "stopped"));
    let out = oci.run(&["start", "crash"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is stopped, not created"),
        "{}",
        stderr(&out)
    );
    let out = oci.run(&["delete", "crash"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn bad_configs_fail_create_by_name_and_leave_nothing() {
    let Some(oci) = setup(&["sleep", "1000"]) else {
        return;
    };
    oci.edit(|config| config["linux"]["frobnicate"] = json!(true));
    let log = oci.sb.path().join("log.json");
    let mut cmd = oci.command(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        oci.bundle.to_str().unwrap(),
        "bad",
    ]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown field `linux.frobnicate`"),
        "{}",
        stderr(&out)
    );
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("linux.frobnicate"));
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    assert!(!oci.root.join("bad").exists());

    // A command that does not exist fails create (engines answer 127 from the message).
    oci.edit(|config| {
        config["linux"]
            .as_object_mut()
            .unwrap()
            .remove("frobnicate");
        config["process"]["args"] = json!(["no-such-program"]);
    });
    let out = oci.create("missing");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"no-such-program\": executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
    assert!(!oci.root.join("missing").exists());
}

#[test]
fn the_engines_seccomp_profile_is_enforced_inside() {
    let script = "mkdir /tmp/made 2>> /data/out; echo x 2>> /data/out > /etc/planted; \
                  echo done >> /data/out";
    let Some(oci) = setup(&["sh", "-c", script]) else {
        return;
    };
    oci.edit(|config| {
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]
        }));
        config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 1}]
        });
    });
    assert!(oci.create("sec").status.success());
    assert!(oci.run(&["start", "sec"]).status.success());
    assert!(eventually(5, || oci.data("out").ends_with("done\n")));
    let out = oci.data("out");
    // The profile's errno (EPERM), on a writable tmpfs where nothing else stops mkdir.
    assert!(
        out.contains("can't create directory '/tmp/made': Operation not permitted"),
        "{out}"
    );
    // root.readonly (from `spec --rootless`) holds in the mount layer.
    assert!(
        out.contains("can't create /etc/planted: Read-only file system"),
        "{out}"
    );
    let _ = oci.run(&["delete", "--force", "sec"]);
}

#[test]
fn limits_without_a_usable_cgroup_fail_create_by_name_and_no_ops_run() {
    // As the unprivileged test user: on this project's cgroup v1 host there is no cgroup v2 to
    // use, and on a cgroup v2 host no linux.cgroupsPath names one the user may write.
    let Some(oci) = setup(&["true"]) else {
        return;
    };
    oci.edit(|config| {
        config["linux"]["resources"] =
            json!({"memory": {"limit": 67108864}, "pids": {"limit": 32}});
    });
    let out = oci.create("limited");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("`linux.resources.memory.limit` is not supported by hutch-oci: limits need"),
        "{err}"
    );
    assert!(!oci.root.join("limited").exists());
    // What a new cgroup has anyway is no limit: the container runs (without a cgroup).
    oci.edit(|config| {
        config["linux"]["resources"] =
            json!({"cpu": {"shares": 1024, "quota": -1}, "memory": {"limit": -1}});
        config["linux"]["cgroupsPath"] = json!("/hutch-oci-test/no-op");
    });
    let out = oci.create("no-op");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`linux.cgroupsPath`: no cgroup is made"),
        "{}",
        stderr(&out)
    );
    assert!(!std::path::Path::new("/sys/fs/cgroup/hutch-oci-test").exists());
    let out = oci.run(&["delete", "--force", "no-op"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
