//! What a sandbox of the default profile can see and change.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::harness::{ok, sandbox, stderr, stdout};

#[test]
fn init_is_pid_1_and_the_command_runs_as_the_user() {
    let Some(sb) = sandbox() else { return };
    let out =
        ok(&sb.sh("echo $$ $PPID; id -u; id -g; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2 1", "payload is PID 2, child of hutch's init");
    assert_eq!(lines[1], sb.launcher.uid.to_string());
    assert_eq!(lines[2], sb.launcher.gid.to_string());
    assert_eq!(lines[3], "hutch");
    // init, sh, ls and grep: nothing of the host's processes.
    assert!(
        lines[4].parse::<u32>().unwrap() <= 4,
        "processes visible: {}",
        lines[4]
    );
}

#[test]
fn the_payload_may_run_on_every_cpu_hutch_may() {
    let Some(sb) = sandbox() else { return };
    // The set-up starts its mounting thread away from its own CPU (`sys::start_elsewhere`);
    // nothing of that narrower set may reach init or the payload.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let allowed = |status: &str| {
        status
            .lines()
            .find(|line| line.starts_with("Cpus_allowed_list:"))
            .map(|line| line.split_whitespace().nth(1).unwrap_or("").to_owned())
    };
    let out = ok(&sb.sh("cat /proc/self/status /proc/1/status"));
    let inside: Vec<String> = out.split("Name:").skip(1).filter_map(allowed).collect();
    assert_eq!(inside.len(), 2, "{out}");
    for cpus in inside {
        assert_eq!(Some(cpus), allowed(&status));
    }
}

#[test]
fn writable_scratch_mounts_are_nosuid_and_nodev() {
    let Some(sb) = sandbox() else { return };
    // The tmpfs mount points are binds of one scratch tmpfs: each must still carry its flags.
    let out = ok(
        &sb.sh("for d in /tmp /var/tmp /run /dev /dev/shm \"$HOME\"; do \
         awk -v d=\"$d\" '$5 == d { print d, $6 }' /proc/self/mountinfo | tail -n 1; done"),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for line in lines {
        let options: Vec<&str> = line.split_whitespace().nth(1).unwrap().split(',').collect();
        assert!(
            options.contains(&"nosuid") && options.contains(&"nodev"),
            "{line}"
        );
    }
}

#[test]
fn map_root_makes_the_user_root_inside_only() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.run(&[
        "--map-root",
        "--",
        "sh",
        "-c",
        "id -u; id -g; echo x > owned-by-me",
    ]));
    assert_eq!(out, "0\n0\n");
    let meta = std::fs::metadata(sb.path().join("owned-by-me")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (sb.launcher.uid, sb.launcher.gid));
}

#[test]
fn host_root_is_read_only() {
    let Some(sb) = sandbox() else { return };
    for target in [
        "/usr/hutch-probe",
        "/etc/hutch-probe",
        "/hutch-probe",
        "/sys/hutch-probe",
    ] {
        let out = sb.sh(&format!("touch {target}"));
        assert!(!out.status.success(), "{target} was writable");
        assert!(
            stderr(&out).contains("Read-only file system"),
            "{target}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn cwd_is_writable_and_files_belong_to_the_user() {
    let Some(sb) = sandbox() else { return };
    ok(&sb.sh("echo hello > made-inside && mkdir sub"));
    let file = sb.path().join("made-inside");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (sb.launcher.uid, sb.launcher.gid));
}

#[test]
fn host_tmp_home_and_other_homes_are_invisible() {
    let Some(sb) = sandbox() else { return };
    let marker = tempfile::Builder::new()
        .prefix("hutch-host-marker-")
        .tempfile()
        .unwrap();
    let marker_name = marker
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let out = ok(&sb.sh(
        "ls -A /tmp; echo ---; ls -A ~; echo ---; ls -A /home; echo ---; ls -A /root /run /var/tmp",
    ));
    let sections: Vec<&str> = out.split("---\n").collect();
    assert!(
        !sections[0].contains(&marker_name),
        "host /tmp visible: {}",
        sections[0]
    );
    assert_eq!(sections[1], "", "home is not empty");
    let home = &sb.launcher.home;
    for entry in sections[2].lines() {
        assert!(
            home.starts_with(format!("/home/{entry}")),
            "another home visible: {entry}"
        );
    }
    assert_eq!(
        sections[3]
            .lines()
            .filter(|l| !l.ends_with(':') && !l.is_empty())
            .count(),
        0,
        "{}",
        sections[3]
    );
}

#[test]
fn network_is_loopback_only() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.sh("cat /proc/net/dev"));
    let interfaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(interfaces, ["lo"]);
}

#[test]
fn dev_is_minimal() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.sh("ls /dev; echo data > /dev/null; head -c 4 /dev/zero | wc -c"));
    let listed: Vec<&str> = out.lines().collect();
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm",
    ] {
        assert!(listed.contains(&dev), "/dev/{dev} missing: {listed:?}");
    }
    assert!(
        !listed.contains(&"sda") && !listed.contains(&"vda") && !listed.contains(&"mem"),
        "{listed:?}"
    );
    assert_eq!(listed.last(), Some(&"4"));
}

#[test]
fn only_safe_environment_passes() {
    let Some(sb) = sandbox() else { return };
    let out = sb
        .hutch(["run", "--", "env"])
        .env("GITHUB_TOKEN", "secret-value")
        .env("SSH_AUTH_SOCK", "/run/agent")
        .env("LC_TIME", "C")
        .output()
        .unwrap();
    let env = ok(&out);
    assert!(
        !env.contains("secret-value") && !env.contains("SSH_AUTH_SOCK"),
        "{env}"
    );
    assert!(env.contains("LC_TIME=C\n"), "{env}");
    assert!(
        env.contains(&format!("HOME={}\n", sb.launcher.home.display())),
        "{env}"
    );
    assert!(env.contains("PATH="), "{env}");
}

#[test]
fn env_flags_set_unset_and_clear() {
    let Some(sb) = sandbox() else { return };
    let out = ok(&sb.run(&["--env", "A=1=2", "--unsetenv", "LANG", "--", "env"]));
    assert!(out.contains("A=1=2\n") && !out.contains("LANG="), "{out}");
    let out = ok(&sb.run(&["--clearenv", "--env", "ONLY=me", "--", "/usr/bin/env"]));
    assert_eq!(out, "ONLY=me\n");
}

#[test]
fn bind_ro_bind_tmpfs_chdir_and_hostname_flags() {
    let Some(sb) = sandbox() else { return };
    sb.write("data/in", "x\n");
    let out = ok(&sb.run(&[
        "--tmpfs",
        "/tmp/scratch",
        "--bind",
        "data:/tmp/scratch/rw",
        "--ro-bind",
        "data:/tmp/ro",
        "--chdir",
        "/tmp/scratch",
        "--hostname",
        "box1",
        "--",
        "sh",
        "-c",
        "pwd; hostname; cat rw/in; echo y > rw/out; touch /tmp/ro/nope 2>&1 || true",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["/tmp/scratch", "box1", "x"]);
    assert!(lines[3].contains("Read-only file system"), "{out}");
    assert_eq!(
        std::fs::read_to_string(sb.path().join("data/out")).unwrap(),
        "y\n"
    );
}

#[test]
fn running_from_home_does_not_expose_it() {
    let Some(sb) = sandbox() else { return };
    // The work dir plays the home: the default profile must not make it writable.
    let out = sb
        .hutch(["run", "--", "sh", "-c", "touch exposed; ls -A"])
        .env("HOME", sb.path())
        .output()
        .unwrap();
    assert!(stderr(&out).contains("not making"), "{}", stderr(&out));
    assert!(!sb.path().join("exposed").exists());
    assert_eq!(stdout(&out), "exposed\n", "home inside is the empty tmpfs");
}

#[test]
fn running_from_home_reached_through_a_symlink_does_not_expose_it() {
    let Some(sb) = sandbox() else { return };
    // HOME names the home through a symlink, the current directory is the same home by its
    // real path: a symlinked parent, as with `/home -> /data/home`, or HOME itself a symlink.
    let real_home = sb.path().join("data/home");
    sb.write("data/home/.profile", "");
    std::os::unix::fs::symlink(sb.path().join("data"), sb.path().join("link")).unwrap();
    std::os::unix::fs::symlink(&real_home, sb.path().join("home-link")).unwrap();
    for home in ["link/home", "home-link"] {
        let out = sb
            .launcher
            .command(&real_home)
            .args(["run", "--", "sh", "-c", "touch exposed; ls -A"])
            .env("HOME", sb.path().join(home))
            .output()
            .unwrap();
        assert!(
            stderr(&out).contains("it is or holds your home directory"),
            "HOME={home}: {}",
            stderr(&out)
        );
        // Inside, the home is a tmpfs at the path HOME names; the real path may not exist there
        // at all (then the run stops at chdir), but nothing reaches the host's home.
        assert!(
            !real_home.join("exposed").exists(),
            "HOME={home}: the host's home was written"
        );
    }
}

#[test]
fn running_from_hutchs_configuration_cannot_plant_a_profile() {
    let Some(sb) = sandbox() else { return };
    let home = sb.path().join("home");
    sb.write(
        "home/.config/hutch/profiles/mine.toml",
        "extends = \"default\"\n",
    );
    let config = home.join(".config");
    // ~/.config holds tokens as well as hutch's profiles: not bound at all, so behind the
    // sandbox's empty home it does not exist. (--chdir / lets the attempt run.)
    let plant = format!(
        "printf 'extends = \"default\"\\n' > {}/hutch/profiles/default.toml",
        config.display()
    );
    let out = sb
        .launcher
        .command(&config)
        .args(["run", "--chdir", "/", "--", "sh", "-c", &plant])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("not binding") && stderr(&out).contains("is your configuration"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Directory nonexistent")
            || stderr(&out).contains("No such file or directory"),
        "{}",
        stderr(&out)
    );
    assert!(!config.join("hutch/profiles/default.toml").exists());
    // Without --chdir the run stops at once, with a hint.
    let out = sb
        .launcher
        .command(&config)
        .args(["run", "--", "true"])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("--chdir"), "{}", stderr(&out));
    // `--ro-bind .` shows it, read-only, to whoever means it.
    let out = sb
        .launcher
        .command(&config)
        .args([
            "run",
            "--ro-bind",
            ".",
            "--",
            "cat",
            "hutch/profiles/mine.toml",
        ])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(ok(&out), "extends = \"default\"\n");
}

#[test]
fn running_from_hutchs_state_keeps_it_read_only() {
    let Some(sb) = sandbox() else { return };
    let home = sb.path().join("home");
    sb.write(
        "home/.local/share/hutch/envs/dev/env.toml",
        "image = \"x\"\n",
    );
    let state = home.join(".local/share/hutch");
    let out = sb
        .launcher
        .command(&state)
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "cat envs/dev/env.toml; touch envs/dev/planted",
        ])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("is hutch's state") && stderr(&out).contains("read-only"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "image = \"x\"\n");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(!state.join("envs/dev/planted").exists());
}

#[test]
fn running_from_the_runtime_directory_does_not_expose_its_sockets() {
    let Some(sb) = sandbox() else { return };
    let runtime = sb.path().join("runtime");
    sb.write("runtime/hutch/.keep", "");
    // An agent's socket there: connecting needs no write access, so a read-only bind of the
    // directory would still hand it over.
    let agent = runtime.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let connect = format!(
        "import socket\ntry:\n    socket.socket(socket.AF_UNIX).connect('{}')\n    print('CONNECTED')\n\
         except OSError as e:\n    print(e.strerror)",
        agent.display()
    );
    let run = |args: &[&str]| {
        sb.launcher
            .command(&runtime)
            .arg("run")
            .args(args)
            .args(["--", "python3", "-c", &connect])
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap()
    };
    let out = run(&["--chdir", "/"]);
    assert!(
        stderr(&out).contains("not binding") && stderr(&out).contains("is your runtime directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ok(&out), "No such file or directory\n");
    // `--bind .` says the user means it.
    assert_eq!(ok(&run(&["--bind", "."])), "CONNECTED\n");
    drop(listener);
}

#[test]
fn map_root_uses_subordinate_ranges_so_chown_works() {
    let Some(sb) = sandbox() else { return };
    let start = std::fs::read_to_string("/etc/subuid").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let mut f = l.split(':');
            let owner = f.next()?;
            let first: u32 = f.next()?.parse().ok()?;
            (owner == sb.launcher.name || owner == sb.launcher.uid.to_string()).then_some(first)
        })
    });
    let Some(start) = start else {
        assert!(
            !super::harness::strict(),
            "the test user needs a /etc/subuid range"
        );
        return;
    };
    let out = ok(&sb.run(&[
        "--map-root",
        "--",
        "sh",
        "-c",
        "touch given && chown 1000:1000 given && stat -c %u given",
    ]));
    assert_eq!(out, "1000\n");
    let meta = std::fs::metadata(sb.path().join("given")).unwrap();
    assert_eq!(
        meta.uid(),
        start + 999,
        "uid 1000 inside is subordinate id {} outside",
        start + 999
    );
}
