//! The decisions of `cgroup` against a fake /sys/fs/cgroup and /proc/self in a temp dir.

use super::*;

#[test]
fn sizes_take_binary_suffixes() {
    assert_eq!(parse_size("64M"), Some(Amount::Limited(64 << 20)));
    assert_eq!(parse_size("64m"), Some(Amount::Limited(64 << 20)));
    assert_eq!(parse_size("1G"), Some(Amount::Limited(1 << 30)));
    assert_eq!(parse_size("2GiB"), Some(Amount::Limited(2 << 30)));
    assert_eq!(parse_size("512K"), Some(Amount::Limited(512 << 10)));
    assert_eq!(parse_size("4096"), Some(Amount::Limited(4096)));
    assert_eq!(parse_size("max"), Some(Amount::Max));
    for bad in ["", "M", "64Q", "-1M", "1.5G", "64 M", "99999999999T"] {
        assert_eq!(parse_size(bad), None, "{bad:?}");
    }
}

#[test]
fn cpus_render_as_quota_and_period() {
    let flags = ResourceFlags {
        cpus: Some("0.5".into()),
        ..Default::default()
    };
    let r = Resources::parse(&flags, |f| format!("--{f}")).unwrap();
    assert_eq!(r.files(), [("cpu.max", "50000 100000".to_owned())]);
    assert_eq!(parse_cpus("2"), Some(200_000));
    assert_eq!(parse_cpus("0.001"), None);
    assert_eq!(parse_cpus("nan"), None);
    assert_eq!(parse_cpus("-1"), None);
}

#[test]
fn every_limit_renders_to_its_file() {
    let flags = ResourceFlags {
        memory: Some("64M".into()),
        memory_swap: Some("0".into()),
        pids: Some("16".into()),
        cpus: None,
        cpu_weight: Some("50".into()),
        io_weight: Some("200".into()),
    };
    let r = Resources::parse(&flags, |f| format!("--{f}")).unwrap();
    assert_eq!(
        r.files(),
        [
            ("memory.max", "67108864".to_owned()),
            ("memory.oom.group", "1".into()),
            ("memory.swap.max", "0".into()),
            ("pids.max", "16".into()),
            ("cpu.weight", "50".into()),
            ("io.weight", "default 200".into()),
        ]
    );
    assert_eq!(
        r.controllers(),
        [
            ("memory", "--memory"),
            ("pids", "--pids"),
            ("cpu", "--cpu-weight"),
            ("io", "--io-weight")
        ]
    );
    assert!(Resources::parse(&ResourceFlags::default(), |f| f.into())
        .unwrap()
        .is_empty());
}

#[test]
fn bad_values_name_the_flag() {
    for (flags, origin) in [
        (
            ResourceFlags {
                memory: Some("lots".into()),
                ..Default::default()
            },
            "--memory",
        ),
        (
            ResourceFlags {
                memory: Some("0".into()),
                ..Default::default()
            },
            "--memory",
        ),
        (
            ResourceFlags {
                pids: Some("0".into()),
                ..Default::default()
            },
            "--pids",
        ),
        (
            ResourceFlags {
                cpus: Some("half".into()),
                ..Default::default()
            },
            "--cpus",
        ),
        (
            ResourceFlags {
                cpu_weight: Some("10001".into()),
                ..Default::default()
            },
            "--cpu-weight",
        ),
        (
            ResourceFlags {
                io_weight: Some("0".into()),
                ..Default::default()
            },
            "--io-weight",
        ),
    ] {
        let err = Resources::parse(&flags, |f| format!("--{f}")).unwrap_err();
        assert_eq!(err.origin, origin);
        assert!(err.to_string().starts_with(origin), "{err}");
    }
}

#[test]
fn flags_over_a_base_replace_value_by_value() {
    let base = ResourceFlags {
        memory: Some("1G".into()),
        pids: Some("100".into()),
        ..Default::default()
    };
    let mut over = ResourceFlags::default();
    *over.slot("memory").unwrap() = Some("64M".into());
    *over.slot("cpu-weight").unwrap() = Some("10".into());
    assert!(over.slot("nofile").is_none());
    let merged = over.over(&base);
    assert_eq!(merged.memory.as_deref(), Some("64M"));
    assert_eq!(merged.pids.as_deref(), Some("100"));
    assert_eq!(merged.cpu_weight.as_deref(), Some("10"));
}

/// A fake host: cgroup2 mounted at `<tmp>/cgroup`, this process in `/user/app`.
struct Fake {
    dir: tempfile::TempDir,
    host: CgroupHost,
}

impl Fake {
    fn new(mountinfo_kind: &str, root_controllers: &str, own: &str, controllers: &str) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("cgroup");
        let app = mount.join("user/app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            dir.path().join("mountinfo"),
            format!(
                "29 1 0:26 / {} rw - {mountinfo_kind} {mountinfo_kind} rw\n",
                mount.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("proc_cgroup"), own).unwrap();
        std::fs::write(mount.join("cgroup.controllers"), root_controllers).unwrap();
        std::fs::write(app.join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(app.join("cgroup.subtree_control"), "").unwrap();
        std::fs::write(app.join("cgroup.procs"), "4242\n").unwrap();
        let host = CgroupHost {
            mountinfo: dir.path().join("mountinfo"),
            proc_cgroup: dir.path().join("proc_cgroup"),
            uid: nix::unistd::geteuid().as_raw(),
            pid: 4242,
        };
        Fake { dir, host }
    }

    fn app(&self) -> PathBuf {
        self.dir.path().join("cgroup/user/app")
    }
}

const MEMORY: &[(&str, &str)] = &[("memory", "--memory")];

#[test]
fn a_delegated_cgroup_of_our_own_is_found() {
    let fake = Fake::new(
        "cgroup2",
        "cpu memory pids",
        "0::/user/app\n",
        "cpu memory pids",
    );
    let found = find(&fake.host, MEMORY).unwrap();
    assert_eq!(
        found,
        Delegated {
            base: fake.app(),
            entered: false
        }
    );
}

#[test]
fn entering_moves_us_to_a_leaf_and_enables_controllers() {
    let fake = Fake::new(
        "cgroup2",
        "cpu memory pids",
        "0::/user/app\n",
        "cpu memory pids",
    );
    let mut found = find(&fake.host, MEMORY).unwrap();
    // A leaf of a killed hutch, empty (a fake one without files: rmdir(2) of a real cgroup
    // ignores its interface files): swept. A live one: kept.
    std::fs::create_dir(fake.app().join("hutch-sandbox-1")).unwrap();
    std::fs::create_dir(fake.app().join("hutch-sandbox-2")).unwrap();
    std::fs::write(
        fake.app().join("hutch-sandbox-2/cgroup.events"),
        "populated 1\n",
    )
    .unwrap();
    // The fake kernel's interface files of the launcher's leaf.
    std::fs::create_dir(fake.app().join("hutch-launcher")).unwrap();
    std::fs::write(fake.app().join("hutch-launcher/cgroup.procs"), "").unwrap();
    found.enter(4242, MEMORY).unwrap();
    assert_eq!(
        std::fs::read_to_string(fake.app().join("hutch-launcher/cgroup.procs")).unwrap(),
        "4242"
    );
    assert_eq!(
        std::fs::read_to_string(fake.app().join("cgroup.subtree_control")).unwrap(),
        "+memory"
    );
    assert!(!fake.app().join("hutch-sandbox-1").exists());
    assert!(fake.app().join("hutch-sandbox-2").exists());
    // Later, from inside the launcher leaf, the base is the same and nothing moves again.
    std::fs::write(&fake.host.proc_cgroup, "0::/user/app/hutch-launcher\n").unwrap();
    let again = find(&fake.host, MEMORY).unwrap();
    assert_eq!((again.base, again.entered), (fake.app(), true));
}

#[test]
fn a_leaf_gets_the_limits() {
    let fake = Fake::new("cgroup2", "memory", "0::/user/app\n", "memory");
    let found = find(&fake.host, MEMORY).unwrap();
    let flags = ResourceFlags {
        memory: Some("64M".into()),
        ..Default::default()
    };
    let resources = Resources::parse(&flags, |f| f.into()).unwrap();
    let leaf_path = fake.app().join("hutch-sandbox-7");
    // The fake kernel: the interface files exist once the directory does.
    let leaf = {
        std::fs::create_dir(&leaf_path).unwrap();
        for f in ["memory.max", "memory.oom.group"] {
            std::fs::write(leaf_path.join(f), "").unwrap();
        }
        apply(&leaf_path, &resources).unwrap();
        leaf_path.clone()
    };
    assert_eq!(
        std::fs::read_to_string(leaf.join("memory.max")).unwrap(),
        "67108864"
    );
    assert_eq!(
        std::fs::read_to_string(leaf.join("memory.oom.group")).unwrap(),
        "1"
    );
    drop(found);
}

#[test]
fn cgroup_v1_only_and_hybrid_hosts_say_why() {
    let fake = Fake::new("tmpfs", "", "0::/\n", "");
    let err = find(&fake.host, MEMORY).unwrap_err();
    assert!(
        matches!(err, CgroupError::NoV2 { flag: "--memory" }),
        "{err}"
    );
    let fake = Fake::new("cgroup2", "", "0::/user/app\n", "");
    let err = find(&fake.host, MEMORY).unwrap_err();
    assert!(err.to_string().contains("the memory controller"), "{err}");
    assert!(err
        .hint()
        .unwrap()
        .contains("systemd.unified_cgroup_hierarchy=1"));
    assert!(!err.needs_scope());
}

#[test]
fn a_cgroup_not_ours_or_shared_needs_a_scope() {
    let fake = Fake::new("cgroup2", "memory", "0::/user/app\n", "memory");
    let mut host = fake.host.clone();
    host.uid += 1;
    let err = find(&host, MEMORY).unwrap_err();
    assert!(err.needs_scope(), "{err}");
    assert!(err.to_string().contains("not yours to write"), "{err}");
    assert!(err.hint().unwrap().contains("systemd-run --user --scope"));
    let mut host = fake.host.clone();
    host.pid = 1;
    let err = find(&host, MEMORY).unwrap_err();
    assert!(matches!(err, CgroupError::Shared { .. }), "{err}");
    assert!(err.needs_scope());
}

#[test]
fn a_controller_not_delegated_names_the_drop_in() {
    let fake = Fake::new(
        "cgroup2",
        "cpu memory pids",
        "0::/user/app\n",
        "memory pids",
    );
    let err = find(&fake.host, &[("memory", "--memory"), ("cpu", "--cpus")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--cpus needs the cpu controller"),
        "{err}"
    );
    let hint = err.hint().unwrap();
    assert!(
        hint.contains(DROP_IN) && hint.contains("Delegate=cpu cpuset io memory pids"),
        "{hint}"
    );
    assert!(!err.needs_scope());
}

#[test]
fn usage_is_read_from_the_interface_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("memory.current"), "1048576\n").unwrap();
    std::fs::write(p.join("memory.max"), "max\n").unwrap();
    std::fs::write(p.join("pids.current"), "3\n").unwrap();
    std::fs::write(p.join("pids.max"), "32\n").unwrap();
    std::fs::write(p.join("cpu.stat"), "usage_usec 1234\nuser_usec 1000\n").unwrap();
    std::fs::write(
        p.join("memory.events"),
        "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 1\n",
    )
    .unwrap();
    assert_eq!(
        read_usage(p),
        Usage {
            memory_current: Some(1 << 20),
            memory_max: Some(None),
            pids_current: Some(3),
            pids_max: Some(Some(32)),
            cpu_usage_usec: Some(1234),
            oom_kills: Some(1),
        }
    );
    assert_eq!(read_usage(&p.join("absent")), Usage::default());
    assert_eq!(human_size(64 << 20), "64.0M");
}

#[test]
fn the_scope_command_re_executes_hutch_delegated() {
    let cmd = scope_command(
        Path::new("/usr/bin/systemd-run"),
        Path::new("/usr/bin/hutch"),
        &["run".into(), "--memory".into(), "64M".into()],
        77,
    );
    let args: Vec<_> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        args,
        [
            "--user",
            "--scope",
            "--quiet",
            "--collect",
            "--property=Delegate=yes",
            "--description=hutch sandbox",
            "--unit=hutch-77",
            "--",
            "/usr/bin/hutch",
            "run",
            "--memory",
            "64M"
        ]
    );
}

#[test]
fn the_arrival_pipe_is_named_by_fd_device_and_inode() {
    use super::scope::parse_arrival_pipe;
    assert_eq!(
        parse_arrival_pipe("5:14:123456".as_ref()),
        Some((5, (14, 123456)))
    );
    for bad in ["1", "", "5:14", "5:14:12:9", "x:1:2", "5:-1:2", "5:1:2 "] {
        assert_eq!(parse_arrival_pipe(bad.as_ref()), None, "{bad:?}");
    }
}

#[test]
fn only_the_named_pipe_hears_of_the_arrival() {
    use std::io::Read;
    use std::os::fd::{AsFd, AsRawFd};
    let (mut arrivals, arrival) = crate::sys::inheritable_pipe().unwrap();
    let (dev, inode) = crate::sys::file_identity(arrival.as_fd()).unwrap();
    let fd = arrival.as_raw_fd();
    // Another pipe by that number (an inode that does not match) is left alone and open.
    super::scope::say_arrived(format!("{fd}:{dev}:{}", inode + 1).as_ref());
    let mut byte = [0u8; 1];
    assert_eq!(
        arrivals.read(&mut byte).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    // The named one hears a byte and is closed (it owns the descriptor from then on).
    std::mem::forget(arrival);
    super::scope::say_arrived(format!("{fd}:{dev}:{inode}").as_ref());
    assert_eq!(arrivals.read(&mut byte).unwrap(), 1);
}
