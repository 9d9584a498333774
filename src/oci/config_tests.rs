use serde_json::json;

use super::*;

const ROOTLESS: HostFacts = HostFacts {
    euid: 1000,
    egid: 1000,
    cgroup2: false,
    gids_here: u32::MAX,
};

/// A bundle directory with an empty rootfs; the config is given as JSON.
struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    fn new() -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join("data"), "").unwrap();
        Bundle { dir }
    }

    fn plan(&self, config: &Value, host: HostFacts) -> Result<ContainerPlan, ConfigError> {
        let spec: Spec = serde_json::from_value(config.clone()).unwrap();
        plan(&spec, config, self.dir.path(), host)
    }
}

fn config() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "box",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": true
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["ro"]},
            {"destination": "/data", "type": "bind", "source": "data",
             "options": ["rbind", "ro"]}
        ],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"]
        }
    })
}

fn error_of(config: &Value) -> String {
    Bundle::new()
        .plan(config, ROOTLESS)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_rootless_config_becomes_hutchs_plan() {
    let bundle = Bundle::new();
    let plan = bundle.plan(&config(), ROOTLESS).unwrap();
    assert!(plan
        .new_namespaces
        .contains(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID));
    assert!(!plan.new_namespaces.contains(CloneFlags::CLONE_NEWNET));
    assert_eq!(plan.hostname.as_deref(), Some("box"));
    let maps = plan.id_maps.unwrap();
    assert_eq!(maps.uid.entries[0].outside, 1000);
    let ops: Vec<String> = plan.mount_ops.iter().map(ToString::to_string).collect();
    let root = bundle.dir.path().join("rootfs");
    assert_eq!(ops[0], format!("rbind {} on /", root.display()));
    assert_eq!(ops[1], "proc on /proc");
    assert_eq!(ops[2], "tmpfs on /dev");
    // No network namespace of its own: the host's /sys, read-only, as runc does rootless.
    assert_eq!(ops[3], "rbind /sys on /sys (read-only)");
    // cgroup v1: skipped, and said.
    assert!(
        plan.warnings.iter().any(|w| w.contains("mounts[3]")),
        "{:?}",
        plan.warnings
    );
    assert_eq!(
        ops[4],
        format!(
            "rbind {} on /data (read-only)",
            bundle.dir.path().join("data").display()
        )
    );
    assert!(
        ops.contains(&"dev-bind /dev/null on /dev/null".to_string()),
        "{ops:?}"
    );
    assert!(
        ops.contains(&"symlink /dev/ptmx -> pts/ptmx".to_string()),
        "{ops:?}"
    );
    let tail = &ops[ops.len() - 3..];
    assert_eq!(
        tail,
        ["masked /proc/kcore", "read-only /proc/sys", "read-only /"]
    );
    let MountOp::FileSystem { options, attrs, .. } = &plan.mount_ops[2] else {
        panic!("{:?}", plan.mount_ops[2]);
    };
    assert_eq!(
        options,
        &[
            ("source".to_string(), Some("tmpfs".to_string())),
            ("mode".to_string(), Some("755".to_string())),
            ("size".to_string(), Some("65536k".to_string()))
        ]
    );
    assert_eq!(*attrs, mount_attr::NOSUID);
    let process = &plan.process;
    assert_eq!(
        process.capabilities.bounding,
        CapSet::from_names(&["KILL"]).unwrap()
    );
    assert_eq!(process.capabilities.ambient, CapSet::default());
    assert_eq!(
        (process.rlimits[0].soft, process.rlimits[0].hard),
        (512, 1024)
    );
    assert!(process.no_new_privileges);
    // No engine profile: hutch's own deny-list; Landlock on.
    assert!(plan.seccomp.engine.is_none() && plan.seccomp.hutch.is_some());
    assert_eq!(plan.landlock, LandlockMode::BestEffort);
}

#[test]
fn landlock_derives_from_the_mounts() {
    let plan = Bundle::new().plan(&config(), ROOTLESS).unwrap();
    let rules = landlock_rules(&plan);
    let grant = |path: &str| {
        rules
            .iter()
            .find(|r| r.path == Path::new(path))
            .map(|r| r.grant)
    };
    // The root is bound writable, then made read-only at the end: Landlock holds it read-only.
    assert_eq!(grant("/"), Some(crate::landlock::Grant::ReadExecute));
    assert_eq!(grant("/proc"), Some(crate::landlock::Grant::Proc));
    assert_eq!(grant("/data"), Some(crate::landlock::Grant::ReadExecute));
    assert_eq!(grant("/dev/null"), Some(crate::landlock::Grant::Device));
}

#[test]
fn unknown_fields_are_named() {
    let mut c = config();
    c["frobnicate"] = json!(true);
    assert_eq!(error_of(&c), "config.json: unknown field `frobnicate`");
    let mut c = config();
    c["process"]["bogus"] = json!("x");
    assert_eq!(error_of(&c), "config.json: unknown field `process.bogus`");
    let mut c = config();
    c["linux"]["namespaces"][2]["extra"] = json!(1);
    assert_eq!(
        error_of(&c),
        "config.json: unknown field `linux.namespaces[2].extra`"
    );
    // Empty values say nothing.
    let mut c = config();
    c["frobnicate"] = json!(null);
    assert!(Bundle::new().plan(&c, ROOTLESS).is_ok());
}

#[test]
fn unsupported_fields_are_named() {
    let cases = [
        (
            "/linux/namespaces",
            json!([{"type": "mount"}, {"type": "time"}]),
            "linux.namespaces[1]",
        ),
        (
            "/linux/resources",
            json!({"memory": {"kernel": 1000000}}),
            "linux.resources.memory.kernel",
        ),
        (
            "/linux/resources",
            json!({"network": {"classID": 1}}),
            "linux.resources.network",
        ),
        (
            "/hooks",
            json!({"createContainer": [{"path": "/bin/true"}]}),
            "hooks.createContainer",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX"}),
            "linux.personality",
        ),
        ("/domainname", json!("example.org"), "domainname"),
        ("/mounts/0/type", json!("overlay"), "mounts[0].type"),
        (
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "linux.seccomp.defaultAction",
        ),
        (
            "/linux/rootfsPropagation",
            json!("shared"),
            "linux.rootfsPropagation",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut c = config();
        let parent = pointer.rsplit_once('/').unwrap();
        let key = parent.1;
        let target = if parent.0.is_empty() {
            &mut c
        } else {
            c.pointer_mut(parent.0).unwrap()
        };
        target[key] = value;
        let message = error_of(&c);
        assert!(
            message.starts_with(&format!("config.json: `{field}` is not supported")),
            "{pointer}: {message}"
        );
    }
}

#[test]
fn bad_values_are_named() {
    let mut c = config();
    c["mounts"][4]["source"] = json!("missing");
    assert!(
        error_of(&c).contains("`mounts[4].source`"),
        "{}",
        error_of(&c)
    );
    let mut c = config();
    c["process"]["args"] = json!([]);
    assert!(error_of(&c).contains("`process.args`"));
    let mut c = config();
    c["process"]["cwd"] = json!("relative");
    assert!(error_of(&c).contains("`process.cwd`"));
    let mut c = config();
    c["linux"]["namespaces"] = json!([{"type": "pid"}]);
    assert!(
        error_of(&c).contains("`linux.namespaces`"),
        "{}",
        error_of(&c)
    );
    let mut c = config();
    c["linux"]["maskedPaths"] = json!(["/proc/../etc"]);
    assert!(error_of(&c).contains("`linux.maskedPaths[0]`"));
    let mut c = config();
    c["annotations"] = json!({"run.hutch.landlock": "maybe"});
    assert!(error_of(&c).contains("run.hutch.landlock"));
}

#[test]
fn without_a_user_namespace_an_unprivileged_runtime_maps_its_own_ids() {
    let mut c = config();
    c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]);
    c["linux"]["uidMappings"] = json!(null);
    c["linux"]["gidMappings"] = json!(null);
    c["process"]["user"] = json!({"uid": 5, "gid": 6});
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    assert!(plan.new_namespaces.contains(CloneFlags::CLONE_NEWUSER));
    let maps = plan.id_maps.unwrap();
    assert_eq!(
        (maps.uid.entries[0].inside, maps.uid.entries[0].outside),
        (5, 1000)
    );
    assert_eq!(
        (maps.gid.entries[0].inside, maps.gid.entries[0].outside),
        (6, 1000)
    );
    // Root (of the user namespace we run in, as under rootless podman) makes none.
    let root = HostFacts {
        euid: 0,
        egid: 0,
        ..ROOTLESS
    };
    let plan = Bundle::new().plan(&c, root).unwrap();
    assert!(!plan.new_namespaces.contains(CloneFlags::CLONE_NEWUSER));
    assert!(plan.id_maps.is_none());
}

#[test]
fn with_a_network_namespace_sysfs_is_mounted_and_cgroup2_too() {
    let mut c = config();
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network"}));
    let host = HostFacts {
        cgroup2: true,
        ..ROOTLESS
    };
    let plan = Bundle::new().plan(&c, host).unwrap();
    let ops: Vec<String> = plan.mount_ops.iter().map(ToString::to_string).collect();
    assert_eq!(ops[3], "sysfs on /sys");
    assert_eq!(ops[4], "cgroup2 on /sys/fs/cgroup");
    // Joined by path: sysfs cannot be mounted for a namespace we do not own.
    let mut c = config();
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network", "path": "/proc/1/ns/net"}));
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    assert_eq!(plan.joined.len(), 1);
    assert_eq!(
        plan.mount_ops[3].to_string(),
        "rbind /sys on /sys (read-only)"
    );
}

#[test]
fn annotations_choose_landlock_and_seccomp_stacking() {
    let mut c = config();
    c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]});
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    assert!(plan.seccomp.engine.is_some() && plan.seccomp.hutch.is_none());
    c["annotations"] = json!({"run.hutch.seccomp": "stack", "run.hutch.landlock": "off"});
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    assert!(plan.seccomp.engine.is_some() && plan.seccomp.hutch.is_some());
    assert_eq!(plan.landlock, LandlockMode::Off);
}

#[test]
fn hooks_keep_their_order_and_timeouts() {
    let mut c = config();
    c["hooks"] = json!({
        "prestart": [{"path": "/bin/a"}],
        "createRuntime": [{"path": "/bin/b", "args": ["b", "x"], "timeout": 5}],
        "poststop": [{"path": "/bin/c", "env": ["K=V"]}]
    });
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    let paths: Vec<_> = plan
        .hooks
        .create_runtime
        .iter()
        .map(|h| h.path.display().to_string())
        .collect();
    assert_eq!(paths, ["/bin/a", "/bin/b"]);
    assert_eq!(plan.hooks.create_runtime[1].timeout, Some(5));
    assert_eq!(plan.hooks.poststop[0].env, ["K=V"]);
    c["hooks"]["poststart"] = json!([{"path": "relative"}]);
    assert!(error_of(&c).contains("hooks.poststart[0].path"));
}

#[test]
fn devpts_loses_a_gid_the_container_does_not_map() {
    let mut c = config();
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/dev/pts", "type": "devpts", "source": "devpts",
        "options": ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    }));
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    let devpts = plan
        .mount_ops
        .iter()
        .find_map(|op| match op {
            MountOp::FileSystem {
                fstype, options, ..
            } if fstype == "devpts" => Some(options),
            _ => None,
        })
        .unwrap();
    assert!(!devpts.iter().any(|(k, _)| k == "gid"), "{devpts:?}");
    assert!(plan.warnings.iter().any(|w| w.contains("gid=5")));
    // Mapped (a range from 0, as rootless podman's): kept.
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let plan = Bundle::new().plan(&c, ROOTLESS).unwrap();
    assert!(plan.mount_ops.iter().any(|op| matches!(op,
        MountOp::FileSystem { options, .. } if options.iter().any(|(k, _)| k == "gid"))));
}

#[test]
fn id_maps_are_measured_from_zero() {
    assert_eq!(
        contiguous_from_zero("         0       1001          1\n"),
        1
    );
    assert_eq!(contiguous_from_zero("0 0 4294967295\n"), u32::MAX);
    assert_eq!(contiguous_from_zero("1 100000 65536\n0 1000 1\n"), 65537);
    assert_eq!(contiguous_from_zero("5 5 1\n"), 0);
}

#[test]
fn cpu_resources_that_change_nothing_are_accepted() {
    // containerd's ctr writes shares 1024 (the kernel's default weight) into every spec.
    for cpu in [
        json!({"shares": 1024}),
        json!({"shares": 1024, "quota": -1, "period": 100000}),
        json!({"quota": 0, "cpus": "", "mems": ""}),
    ] {
        let mut c = config();
        c["linux"]["resources"] = json!({ "cpu": cpu });
        assert!(Bundle::new().plan(&c, ROOTLESS).is_ok(), "{cpu}");
    }
}
