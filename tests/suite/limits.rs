//! cgroup v2 limits on this host. Where the kernel gives the user no delegated cgroup v2 subtree
//! (cgroup v1 or hybrid hosts such as this one and CI, containers), a limit flag must fail with
//! the reason, never run the sandbox unlimited. What limits do where they work is tested in the
//! qemu guest (`tests/vm/limits.sh`, through `tests/vm/run`).

use super::harness::{sandbox, stderr};

/// Whether this host mounts the unified hierarchy with the memory controller at its root: then
/// the answer depends on delegation, and the guest is where that is tested.
fn unified_with_memory() -> bool {
    std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
}

#[test]
fn memory_without_cgroup_v2_delegation_is_125_with_the_reason() {
    let Some(sb) = sandbox() else { return };
    if unified_with_memory() {
        eprintln!("skipping: this host has cgroup v2 with memory; tests/vm/limits.sh covers it");
        return;
    }
    let marker = sb.path().join("ran");
    let out = sb.run(&["--memory", "64M", "--", "touch", marker.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(!marker.exists(), "the payload ran without its limit");
    assert!(
        err.contains("--memory needs") && (err.contains("cgroup v2") || err.contains("delegated")),
        "{err}"
    );
    assert!(err.contains("\nhint: "), "{err}");
}

#[test]
fn every_limit_flag_is_refused_the_same_way() {
    let Some(sb) = sandbox() else { return };
    if unified_with_memory() {
        eprintln!("skipping: this host has cgroup v2 with memory; tests/vm/limits.sh covers it");
        return;
    }
    for (flag, value) in [
        ("--pids", "16"),
        ("--cpus", "0.5"),
        ("--memory-swap", "0"),
        ("--cpu-weight", "50"),
        ("--io-weight", "50"),
    ] {
        let out = sb.run(&[flag, value, "--", "true"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{flag}: {err}");
        assert!(err.contains(&format!("{flag} needs")), "{flag}: {err}");
    }
}

#[test]
fn bad_limit_values_are_125_naming_the_flag() {
    let Some(sb) = sandbox() else { return };
    for (flag, value) in [
        ("--memory", "64Q"),
        ("--memory", "0"),
        ("--memory-swap", "lots"),
        ("--pids", "1.5"),
        ("--cpus", "0"),
        ("--cpus", "half"),
        ("--cpu-weight", "0"),
        ("--io-weight", "10001"),
    ] {
        let out = sb.run(&[flag, value, "--", "true"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{flag} {value}: {err}");
        assert!(
            err.starts_with(&format!("hutch: {flag} \"{value}\": expected ")),
            "{flag} {value}: {err}"
        );
    }
}

#[test]
fn an_environment_keeps_its_limits_and_update_changes_them() {
    let Some(sb) = sandbox() else { return };
    let root = sb.path().join("state");
    let root = root.to_str().unwrap();
    let hutch = |args: &[&str]| {
        let mut cmd = sb.hutch(["--root", root]);
        cmd.args(args);
        cmd.output().expect("spawn hutch")
    };
    let out = hutch(&["create", "lim", "--host", "--memory", "64Q"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--memory \"64Q\""),
        "{}",
        stderr(&out)
    );
    let out = hutch(&["ls"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("lim"));
    if !unified_with_memory() {
        // A host that cannot give limits refuses the definition at once.
        let out = hutch(&["create", "lim", "--host", "--memory", "64M"]);
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(stderr(&out).contains("--memory needs"), "{}", stderr(&out));
    }
    // Without limits it is made; update writes them to env.toml, checked, for the next start.
    let out = hutch(&["create", "lim", "--host"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = hutch(&["update", "lim", "--pids", "x"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("--pids \"x\""), "{}", stderr(&out));
    let out = hutch(&["update", "lim", "--memory", "64M", "--pids", "32"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("from the next start"),
        "{}",
        stderr(&out)
    );
    let definition =
        std::fs::read_to_string(sb.path().join("state/data/envs/lim/env.toml")).unwrap();
    assert!(
        definition.contains("[limits]\nmemory = \"64M\"\npids = \"32\""),
        "{definition}"
    );
    let out = hutch(&["status", "lim"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("limits:    memory = \"64M\", pids = \"32\""),
        "{text}"
    );
    if !unified_with_memory() {
        let out = hutch(&["start", "lim"]);
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(stderr(&out).contains("--memory needs"), "{}", stderr(&out));
    }
}
