//! Rootless podman with `hutch-oci` as its runtime, as the unprivileged test user: the checks of
//! `tests/oci/podman.sh` on a busybox image (Debian's busybox-static, imported: no registry), a
//! Debian image (an `mmdebstrap --variant=minbase` tarball that `.ci/run` makes), and
//! `docs/oci/containers.conf` exactly as podman reads it.
//!
//! Each test has a podman of its own: HOME, XDG_* and TMPDIR in the test's work directory, so
//! nothing of the user's podman is read or left behind; at the end its containers and storage
//! are removed with podman's own `rm` and `system reset`, and its pause process is ended.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::harness::{processes_with, sandbox, stderr, stdout, strict, Sandbox};

const BUSYBOX_IMAGE: &str = "localhost/busybox:hutch-test";
const DEBIAN_IMAGE: &str = "localhost/debian:hutch-test";

/// Flags every podman call here takes: this host (and CI) has no systemd user session for the
/// test user, so no systemd cgroup manager and no journal.
const PODMAN_FLAGS: [&str; 2] = ["--cgroup-manager=cgroupfs", "--events-backend=file"];

/// The repository's files the tests use, copied where the test user can read them (the
/// checkout may sit under /root).
const CONTAINERS_CONF: &str = include_str!("../../docs/oci/containers.conf");
const PODMAN_SH: &str = include_str!("../oci/podman.sh");

struct Podman {
    sb: Sandbox,
    /// The test user's copy of hutch-oci; its directory is first on PATH, where podman finds
    /// it by the name containers.conf gives.
    runtime: PathBuf,
}

fn skip(why: &str) -> Option<Podman> {
    assert!(!strict(), "HUTCH_TEST_STRICT=1: {why}");
    eprintln!("skipping: {why}");
    None
}

fn setup() -> Option<Podman> {
    if !Path::new("/usr/bin/podman").exists() {
        return skip("no podman (apt install podman uidmap slirp4netns catatonit)");
    }
    if !Path::new("/bin/busybox").exists() {
        return skip("no /bin/busybox (apt install busybox-static)");
    }
    let sb = sandbox()?;
    let runtime = super::oci::staged_binary(&sb);
    let pod = Podman { sb, runtime };
    for dir in [
        "home",
        "data",
        "config/containers",
        "tmp",
        "image/bin",
        "image/etc",
    ] {
        std::fs::create_dir_all(pod.path(dir)).unwrap();
    }
    std::fs::create_dir_all(pod.path("run")).unwrap();
    std::fs::set_permissions(
        pod.path("run"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    // Native overlay in the user namespace (Linux 5.13+): no fuse-overlayfs, and no copy of
    // the image per container as with podman's fallback, vfs.
    std::fs::write(
        pod.path("config/containers/storage.conf"),
        "[storage]\ndriver = \"overlay\"\n",
    )
    .unwrap();
    std::fs::write(pod.path("containers.conf"), CONTAINERS_CONF).unwrap();
    std::fs::write(pod.path("podman.sh"), PODMAN_SH).unwrap();
    // busybox with a link per applet, as an image.
    std::fs::copy("/bin/busybox", pod.path("image/bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in stdout(&list).lines().filter(|a| *a != "busybox") {
        std::os::unix::fs::symlink("busybox", pod.path("image/bin").join(applet)).unwrap();
    }
    let tar = Command::new("tar")
        .arg("-C")
        .arg(pod.path("image"))
        .arg("-cf")
        .arg(pod.path("busybox.tar"))
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    let chown = Command::new("chown")
        .args([
            "-R",
            &format!("{}:{}", pod.sb.launcher.uid, pod.sb.launcher.gid),
        ])
        .arg(pod.sb.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let out = pod.podman(&["import", "busybox.tar", BUSYBOX_IMAGE]);
    assert!(out.status.success(), "podman import: {}", stderr(&out));
    Some(pod)
}

impl Podman {
    fn path(&self, relative: &str) -> PathBuf {
        self.sb.path().join(relative)
    }

    /// PROGRAM as the test user, in the work directory, with this test's podman environment.
    fn command(&self, program: &str) -> Command {
        let mut cmd = self.sb.launcher.program(program, self.sb.path());
        let bin = self.runtime.parent().unwrap();
        cmd.env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .env("HOME", self.path("home"))
        .env("XDG_RUNTIME_DIR", self.path("run"))
        .env("XDG_DATA_HOME", self.path("data"))
        .env("XDG_CONFIG_HOME", self.path("config"))
        .env("TMPDIR", self.path("tmp"))
        .env("CONTAINERS_CONF", self.path("containers.conf"));
        cmd
    }

    fn podman(&self, args: &[&str]) -> Output {
        self.command("podman")
            .args(PODMAN_FLAGS)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    /// `podman run --rm ARGS`, which must succeed; its stdout.
    #[track_caller]
    fn run_ok(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        let out = self.podman(&all);
        assert!(
            out.status.success(),
            "podman {all:?}: {:?}\n{}{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// The pid of podman's rootless pause process (it holds the user namespace open), if any.
    fn pause_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("run/libpod/tmp/pause.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Read first: `system reset` removes the file, not always the process.
        let pause = self.pause_pid();
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        // Storage written in the user namespace belongs to subordinate ids: podman removes it.
        let _ = self.podman(&["system", "reset", "--force"]);
        if let Some(pid) = pause {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

#[test]
fn podman_runs_busybox_containers_with_hutch_oci() {
    let Some(pod) = setup() else {
        return;
    };
    let out = pod
        .command("sh")
        .arg("podman.sh")
        .env("HUTCH_OCI", &pod.runtime)
        .env("IMAGE", BUSYBOX_IMAGE)
        .output()
        .unwrap();
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "tests/oci/podman.sh:\n{report}");
    assert!(report.contains("passed 19, failed 0"), "{report}");

    // Nothing is left: no container, conmon or pause process, no files.
    let dir = pod.sb.path().to_path_buf();
    let marker = dir.display().to_string();
    let pause = pod.pause_pid();
    assert!(pause.is_some(), "podman ran without a pause process?");
    drop(pod);
    let left = processes_with(&marker);
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(
        super::harness::eventually(5, || !alive(pause.unwrap())),
        "podman's pause process is still alive"
    );
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn containers_conf_from_the_docs_makes_hutch_oci_the_runtime() {
    let Some(pod) = setup() else {
        return;
    };
    // No --runtime: containers.conf names hutch-oci, found on PATH.
    let out = pod.podman(&[
        "info",
        "--format",
        "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}",
    ]);
    assert_eq!(
        stdout(&out).trim(),
        format!("hutch-oci {}", pod.runtime.display()),
        "{}(an installed /usr/local/bin/hutch-oci or /usr/bin/hutch-oci comes first)",
        stderr(&out)
    );
    assert_eq!(pod.run_ok(&[BUSYBOX_IMAGE, "echo", "hello"]), "hello\n");
    let out = pod.podman(&["run", "-d", BUSYBOX_IMAGE, "sleep", "1000"]);
    let id = stdout(&out).trim().to_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = pod.podman(&[
        "inspect",
        "--format",
        "{{.OCIRuntime}} {{.State.Status}}",
        &id,
    ]);
    assert_eq!(stdout(&out).trim(), "hutch-oci running");
    // runtime_supports_json: podman passes --log, so hutch-oci's warnings (this host's cgroup
    // v1 tree makes one) stay out of the container's output, and its errors reach the user.
    let out = pod.podman(&[
        "run",
        "--rm",
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("out\n", "err\n")
    );
    let out = pod.podman(&["run", "--rm", BUSYBOX_IMAGE, "no-such-program"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"no-such-program\": executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
}

/// The Debian image: `HUTCH_TEST_DEBIAN_TAR`, or the tarball `.ci/run` makes.
fn debian_tarball() -> Option<PathBuf> {
    let path = std::env::var_os("HUTCH_TEST_DEBIAN_TAR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/oci/debian-bookworm-minbase.tar"
            ))
        },
        PathBuf::from,
    );
    if path.exists() {
        return Some(path);
    }
    skip(&format!(
        "no Debian image at {} (made by .ci/run: `mmdebstrap --variant=minbase --format=tar \
         bookworm PATH`; or set HUTCH_TEST_DEBIAN_TAR)",
        path.display()
    ));
    None
}

#[test]
fn podman_runs_debian_containers_with_hutch_oci() {
    let Some(tarball) = debian_tarball() else {
        return;
    };
    let Some(pod) = setup() else {
        return;
    };
    // Opened here (the test user may not reach the checkout), read by podman from stdin.
    let out = pod
        .command("podman")
        .args(PODMAN_FLAGS)
        .args(["import", "-", DEBIAN_IMAGE])
        .stdin(std::fs::File::open(&tarball).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "podman import: {}", stderr(&out));

    let version = pod.run_ok(&[DEBIAN_IMAGE, "cat", "/etc/debian_version"]);
    assert!(version.starts_with("12."), "{version}");
    let apt = pod.run_ok(&[DEBIAN_IMAGE, "apt-get", "--version"]);
    assert!(apt.starts_with("apt 2.6"), "{apt}");
    // apt and dpkg read their databases and write apt's cache: the image's root is writable.
    let check = pod.run_ok(&[DEBIAN_IMAGE, "apt-get", "check"]);
    assert!(check.contains("Reading state information"), "{check}");
    let dpkg = pod.run_ok(&[DEBIAN_IMAGE, "dpkg-query", "-W", "-f=${Status}", "apt"]);
    assert_eq!(dpkg, "install ok installed");
    // A user of the image's own passwd, mapped from the test user's subordinate range.
    let nobody = pod.run_ok(&["--user", "nobody", DEBIAN_IMAGE, "id"]);
    assert_eq!(
        nobody,
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
    );
    // A setuid program of the image works (engines do not ask for no_new_privs by default).
    let su = pod.run_ok(&[
        DEBIAN_IMAGE,
        "su",
        "-s",
        "/bin/sh",
        "nobody",
        "-c",
        "id -un",
    ]);
    assert_eq!(su, "nobody\n");
    let out = pod.podman(&["run", "--rm", DEBIAN_IMAGE, "bash", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let out = pod.podman(&[
        "run",
        "--rm",
        "--read-only",
        DEBIAN_IMAGE,
        "touch",
        "/etc/planted",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    let out = pod.podman(&["run", "-d", DEBIAN_IMAGE, "sleep", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    let out = pod.podman(&["exec", &id, "sh", "-c", ". /etc/os-release; echo $ID"]);
    assert_eq!(stdout(&out), "debian\n", "{}", stderr(&out));
}
