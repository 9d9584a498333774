//! The engine files in `docs/oci/` for containerd and Kubernetes, read by the engines' own
//! tools where Debian has them, and containerd's runc shim running containers with hutch-oci.
//!
//! What this does not show: the kubelet asking containerd's CRI plugin for the handler `hutch`
//! (no Kubernetes node, and no CRI client such as crictl, in Debian 12). The CRI section is
//! checked by `containerd config dump`; the shim and hutch-oci by `ctr run --runc-binary`, which
//! is what the CRI plugin makes of `BinaryName`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::harness::{eventually, stderr, stdout, strict};

const CONTAINERD_TOML: &str = include_str!("../../docs/oci/containerd.toml");
const RUNTIMECLASS_YAML: &str = include_str!("../../docs/oci/runtimeclass.yaml");

fn tool(path: &str, package: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    assert!(
        !strict(),
        "HUTCH_TEST_STRICT=1: no {path} (apt install {package})"
    );
    eprintln!("skipping: no {path} (apt install {package})");
    false
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

#[test]
fn containerd_reads_the_docs_config_with_the_hutch_handler() {
    if !tool("/usr/bin/containerd", "containerd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("containerd.toml");
    std::fs::write(&config, CONTAINERD_TOML).unwrap();
    let out = run(Command::new("containerd")
        .arg("--config")
        .arg(&config)
        .args(["config", "dump"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let dump = stdout(&out);
    // The section as containerd understood it, with its defaults filled in.
    let section = dump
        .split("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hutch]")
        .nth(1)
        .unwrap_or_else(|| panic!("no runtimes.hutch in:\n{dump}"));
    let section = &section[..section
        .find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.untrusted")
        .unwrap_or(section.len())];
    assert!(
        section.contains("runtime_type = \"io.containerd.runc.v2\""),
        "{section}"
    );
    assert!(
        section
            .contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hutch.options]"),
        "{section}"
    );
    assert!(
        section.contains("BinaryName = \"/usr/local/bin/hutch-oci\""),
        "{section}"
    );
}

#[test]
fn the_runtimeclass_names_the_containerd_handler() {
    if !tool("/usr/bin/python3", "python3") {
        return;
    }
    let has_yaml = run(Command::new("python3").args(["-c", "import yaml"]));
    if !has_yaml.status.success() {
        assert!(!strict(), "HUTCH_TEST_STRICT=1: apt install python3-yaml");
        eprintln!("skipping: no python3-yaml");
        return;
    }
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(RUNTIMECLASS_YAML.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let documents: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(documents.len(), 1);
    let class = &documents[0];
    assert_eq!(class["apiVersion"], "node.k8s.io/v1");
    assert_eq!(class["kind"], "RuntimeClass");
    assert_eq!(class["metadata"]["name"], "hutch");
    // The handler is the CRI runtime's name in containerd's config.
    let handler = class["handler"].as_str().unwrap();
    assert!(
        CONTAINERD_TOML.contains(&format!(
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{handler}]"
        )),
        "handler {handler:?} is not a runtime of docs/oci/containerd.toml"
    );
    // Only fields a RuntimeClass has (node.k8s.io/v1): a typo would be dropped by the API
    // server's pruning, not reported.
    let keys: Vec<&String> = class.as_object().unwrap().keys().collect();
    for key in keys {
        assert!(
            [
                "apiVersion",
                "kind",
                "metadata",
                "handler",
                "overhead",
                "scheduling"
            ]
            .contains(&key.as_str()),
            "{key} is not a RuntimeClass field"
        );
    }
}

/// containerd started by the test, in a directory of its own; stopped and removed at the end.
struct Containerd {
    sb: super::harness::Sandbox,
    daemon: std::process::Child,
}

impl Containerd {
    fn dir(&self) -> &Path {
        self.sb.path()
    }

    fn socket(&self) -> PathBuf {
        self.dir().join("containerd.sock")
    }

    fn ctr(&self, args: &[&str]) -> Output {
        run(self
            .sb
            .launcher
            .program("ctr", self.dir())
            .arg("--address")
            .arg(self.socket())
            .args(args))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // rootlesskit's child, containerd, dies with it (parent-death signal); its /run is a
        // copy in rootlesskit's mount namespace, so nothing of it is left on the host.
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// containerd, started rootless as the test user (rootlesskit: a user namespace mapped to the
/// user's subordinate ids, /etc and /run copied up), runs busybox through its runc shim with
/// hutch-oci as the runtime binary: what a node would do, without root.
#[test]
fn containerds_runc_shim_runs_containers_with_hutch_oci() {
    if !tool("/usr/bin/containerd", "containerd")
        || !tool("/usr/bin/ctr", "containerd")
        || !tool("/usr/bin/rootlesskit", "rootlesskit")
    {
        return;
    }
    let Some(sb) = super::harness::sandbox() else {
        return;
    };
    let dir = sb.path().to_owned();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{0}/containerd.sock\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "etc", "proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "id", "grep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let runtime = dir.join("hutch-oci");
    std::fs::copy(env!("CARGO_BIN_EXE_hutch-oci"), &runtime).unwrap();
    // Made by root here: the test user's, as everything it works with.
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:{}", sb.launcher.uid, sb.launcher.gid))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    let daemon = sb
        .launcher
        .program("rootlesskit", &dir)
        .args(["--net=host", "--copy-up=/etc", "--copy-up=/run"])
        .arg(format!("--state-dir={}/rootlesskit", dir.display()))
        .args(["containerd", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("containerd.log")).unwrap())
        .spawn()
        .unwrap();
    let ctrd = Containerd { sb, daemon };
    assert!(
        eventually(10, || ctrd.ctr(&["version"]).status.success()),
        "containerd did not start: {}",
        std::fs::read_to_string(ctrd.dir().join("containerd.log")).unwrap_or_default()
    );
    // FIFOs and hutch-oci's state (the shim's --root) in the test's directory too.
    let fifo_dir = ctrd.dir().join("fifo");
    let runc_root = ctrd.dir().join("runc-root");
    let placed = [
        "--fifo-dir",
        fifo_dir.to_str().unwrap(),
        "--runc-root",
        runc_root.to_str().unwrap(),
    ];
    let ctr_run = |id: &str, script: &str| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(&placed);
        args.extend_from_slice(&[
            "--runc-binary",
            runtime.to_str().unwrap(),
            "--rootfs",
            rootfs.to_str().unwrap(),
            id,
            "sh",
            "-c",
            script,
        ]);
        ctrd.ctr(&args)
    };
    let out = ctr_run("hello", "echo hello");
    assert!(
        out.status.success(),
        "ctr run: {}\ncontainerd: {}",
        stderr(&out),
        std::fs::read_to_string(ctrd.dir().join("containerd.log")).unwrap_or_default()
    );
    assert_eq!(stdout(&out), "hello\n");
    // The exit status passes through the shim.
    let out = ctr_run("status", "exit 3");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // It is hutch-oci that ran them: on a cgroup v1 host (this project's) runc would apply
    // this, and hutch-oci refuses it by name, through the shim; on cgroup v2 it applies it.
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(&placed);
    args.extend_from_slice(&[
        "--cpu-shares",
        "2",
        "--runc-binary",
        runtime.to_str().unwrap(),
        "--rootfs",
        rootfs.to_str().unwrap(),
        "limited",
        "true",
    ]);
    let out = ctrd.ctr(&args);
    let cgroup_v2 = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"));
    if cgroup_v2 {
        assert!(out.status.success(), "{}", stderr(&out));
    } else {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("`linux.resources.cpu.shares` is not supported by hutch-oci"),
            "{}",
            stderr(&out)
        );
    }
    // Nothing is left: no container, no task, no shim, no state of hutch-oci's.
    let out = ctrd.ctr(&["containers", "list", "--quiet"]);
    assert_eq!(stdout(&out), "", "{}", stderr(&out));
    let states: Vec<_> = std::fs::read_dir(runc_root.join("default"))
        .expect("the shim passed --runc-root on to hutch-oci")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(states.is_empty(), "hutch-oci state left: {states:?}");
    let marker = ctrd.dir().display().to_string();
    drop(ctrd);
    assert!(
        eventually(5, || super::harness::processes_with(&marker).is_empty()),
        "processes left: {:?}",
        super::harness::processes_with(&marker)
    );
}
