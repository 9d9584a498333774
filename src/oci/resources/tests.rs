use serde_json::json;

use super::*;

fn writes_of(resources: serde_json::Value) -> Result<Vec<(String, String)>, String> {
    let resources: LinuxResources = serde_json::from_value(resources).expect("valid resources");
    writes(&resources)
        .map(|w| w.into_iter().map(|w| (w.file, w.value)).collect())
        .map_err(|e| e.to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

#[test]
fn shares_become_weights_as_runc_and_crun_convert_them() {
    // The fixed points of the conversion: minimum, default, maximum.
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 100);
    assert_eq!(shares_to_weight(262_144), 10_000);
    // Out of range is clamped; values from runc's and crun's tables.
    assert_eq!(shares_to_weight(1), 1);
    assert_eq!(shares_to_weight(1 << 20), 10_000);
    assert_eq!(shares_to_weight(512), 59);
    assert_eq!(shares_to_weight(102), 17);
    assert_eq!(shares_to_weight(2048), 174);
    // Monotonic over the whole range.
    let mut last = 0;
    for shares in 2..=262_144 {
        let weight = shares_to_weight(shares);
        assert!(weight >= last, "{shares}: {weight} < {last}");
        last = weight;
    }
}

#[test]
fn blkio_weights_become_io_weights() {
    assert_eq!(blkio_weight_to_io(10), 1);
    assert_eq!(blkio_weight_to_io(1000), 10_000);
    assert_eq!(blkio_weight_to_io(500), 4950);
}

#[test]
fn what_podman_run_asks_becomes_cgroup_v2_files() {
    // podman run --memory 64m --pids-limit 32 --cpus 0.5 --cpu-shares 512 (swap: twice the memory).
    let got = writes_of(json!({
        "memory": {"limit": 67108864, "swap": 134217728},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
        "pids": {"limit": 32},
    }));
    assert_eq!(
        got.unwrap(),
        pairs(&[
            ("memory.max", "67108864"),
            ("memory.swap.max", "67108864"),
            ("cpu.weight", "59"),
            ("cpu.max", "50000 100000"),
            ("pids.max", "32"),
        ])
    );
}

#[test]
fn each_field_has_its_file() {
    let got = writes_of(json!({
        "memory": {"limit": -1, "swap": -1, "reservation": 1048576},
        "cpu": {"quota": -1, "cpus": "0-1", "mems": "0", "idle": 1, "burst": 1000},
        "pids": {"limit": -1},
        "blockIO": {
            "weight": 500,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 10}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 0}],
        },
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "100M", "io.latency": "8:0 target=10"},
    }))
    .unwrap();
    assert_eq!(
        got,
        pairs(&[
            ("memory.max", "max"),
            ("memory.swap.max", "max"),
            ("memory.low", "1048576"),
            ("cpu.max", "max 100000"),
            ("cpu.max.burst", "1000"),
            ("cpu.idle", "1"),
            ("cpuset.cpus", "0-1"),
            ("cpuset.mems", "0"),
            ("pids.max", "max"),
            ("io.weight", "default 4950"),
            ("io.weight", "8:0 1"),
            ("io.max", "8:0 rbps=1048576"),
            ("io.max", "8:16 wiops=max"),
            ("hugetlb.2MB.max", "4194304"),
            ("io.latency", "8:0 target=10"),
            ("memory.high", "100M"),
        ])
    );
}

#[test]
fn values_a_new_cgroup_has_anyway_change_nothing() {
    // containerd's ctr writes shares 1024 into every spec; Kubernetes -1 quotas.
    for resources in [
        json!({"cpu": {"shares": 1024}}),
        json!({"cpu": {"shares": 1024, "quota": -1, "period": 100000}}),
        json!({"cpu": {"quota": 0, "cpus": "", "mems": ""}}),
        json!({"memory": {"limit": -1, "swap": -1}, "pids": {"limit": 0}}),
        json!({"memory": {"limit": 0}}),
    ] {
        let parsed: LinuxResources = serde_json::from_value(resources.clone()).unwrap();
        let w = writes(&parsed).unwrap();
        assert!(
            w.iter().all(|w| !w.changes_something()),
            "{resources}: {w:?}"
        );
    }
    for resources in [
        json!({"cpu": {"shares": 2}}),
        json!({"cpu": {"quota": 50000}}),
        json!({"cpu": {"cpus": "0"}}),
        json!({"pids": {"limit": 10}}),
        json!({"memory": {"limit": 1000000}}),
    ] {
        let parsed: LinuxResources = serde_json::from_value(resources.clone()).unwrap();
        let w = writes(&parsed).unwrap();
        assert!(w.iter().any(Write::changes_something), "{resources}: {w:?}");
    }
}

#[test]
fn swap_counts_memory_and_swap_together() {
    assert_eq!(
        writes_of(json!({"memory": {"limit": 100, "swap": 100}})).unwrap(),
        pairs(&[("memory.max", "100"), ("memory.swap.max", "0")])
    );
    let err = writes_of(json!({"memory": {"limit": 100, "swap": 50}})).unwrap_err();
    assert!(
        err.contains("`linux.resources.memory.swap`") && err.contains("below the memory limit"),
        "{err}"
    );
    let err = writes_of(json!({"memory": {"swap": 50}})).unwrap_err();
    assert!(err.contains("needs linux.resources.memory.limit"), "{err}");
}

#[test]
fn what_cgroup_v2_cannot_do_is_refused_by_name() {
    for (resources, field) in [
        (
            json!({"memory": {"kernel": 1000}}),
            "linux.resources.memory.kernel",
        ),
        (
            json!({"memory": {"swappiness": 10}}),
            "linux.resources.memory.swappiness",
        ),
        (
            json!({"memory": {"disableOOMKiller": true}}),
            "linux.resources.memory.disableOOMKiller",
        ),
        (
            json!({"cpu": {"realtimeRuntime": 100}}),
            "linux.resources.cpu.realtimeRuntime",
        ),
        (json!({"cpu": {"quota": 10}}), "linux.resources.cpu.quota"),
        (json!({"cpu": {"cpus": "0;1"}}), "linux.resources.cpu.cpus"),
        (
            json!({"blockIO": {"leafWeight": 10}}),
            "linux.resources.blockIO.leafWeight",
        ),
        (
            json!({"network": {"classID": 1}}),
            "linux.resources.network",
        ),
        (
            json!({"hugepageLimits": [{"pageSize": "../x", "limit": 1}]}),
            "linux.resources.hugepageLimits[0]",
        ),
        (
            json!({"unified": {"cgroup.procs": "1"}}),
            "linux.resources.unified.cgroup.procs",
        ),
        (
            json!({"unified": {"../../memory.max": "1"}}),
            "linux.resources.unified.../../memory.max",
        ),
        (
            json!({"unified": {"memory": "1"}}),
            "linux.resources.unified.memory",
        ),
        (
            json!({"unified": {"memory.high": "1\n2"}}),
            "linux.resources.unified.memory.high",
        ),
    ] {
        let err = writes_of(resources.clone()).unwrap_err();
        assert!(err.contains(&format!("`{field}`")), "{resources}: {err}");
    }
}
