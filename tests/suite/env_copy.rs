//! `hutch cp`: files in and out of environments, running or not, with the environment's side
//! resolved inside it and owners mapped through its id ranges; and what a hostile environment
//! can plant against it (issue 18).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::environments::{busybox_image, hutch, subuid_start, Cleanup};
use super::harness::{ok, sandbox, stderr, Sandbox};

fn exec(sb: &Sandbox, env: &str, script: &str) -> String {
    ok(&hutch(sb, &["exec", env, "--", "sh", "-c", script]))
}

#[track_caller]
fn refused(out: &std::process::Output, says: &str) {
    assert_eq!(out.status.code(), Some(125), "{}", stderr(out));
    assert!(stderr(out).contains(says), "{says:?} in {}", stderr(out));
}

/// An image environment `img`, created (not started), and a tree to copy: `tree/run` (0750)
/// and `tree/sub/note` (0640).
fn setup(sb: &Sandbox) -> Option<()> {
    subuid_start(sb)?;
    let tarball = busybox_image(sb)?;
    ok(&hutch(
        sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(
        sb,
        &["create", "img", "--image", "bb", "--net", "none"],
    ));
    sb.write("tree/run", "#!/bin/sh\n");
    sb.write("tree/sub/note", "note\n");
    for (file, mode) in [("tree/run", 0o750), ("tree/sub/note", 0o640)] {
        std::fs::set_permissions(sb.path().join(file), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }
    Some(())
}

#[test]
fn copies_go_in_and_out_of_an_image_environment_running_or_not() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    if setup(&sb).is_none() {
        assert!(
            !super::harness::strict(),
            "needs busybox and a subuid range"
        );
        return;
    }
    // Stopped: the copy mounts the environment's root for a moment, never its init.
    ok(&hutch(&sb, &["cp", "tree", "img:/root/"]));
    ok(&hutch(&sb, &["cp", "tree/sub/note", "img:/root/renamed"]));
    // Reading sees the merged view: the image's file under the upper layer.
    ok(&hutch(&sb, &["cp", "img:/etc/passwd", "passwd-out"]));
    assert_eq!(
        std::fs::read_to_string(sb.path().join("passwd-out")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    ok(&hutch(&sb, &["start", "img"]));
    let stat = "cd /root && stat -c '%u:%g %a %n' tree tree/run tree/sub/note renamed";
    assert_eq!(
        exec(&sb, "img", stat),
        "0:0 755 tree\n0:0 750 tree/run\n0:0 640 tree/sub/note\n0:0 640 renamed\n"
    );
    // Made inside by root, copied out while it runs: the user's on the host, modes kept.
    exec(
        &sb,
        "img",
        "mkdir -p /srv/made && echo made > /srv/made/f && chmod 600 /srv/made/f",
    );
    ok(&hutch(&sb, &["cp", "img:/srv/made", "."]));
    let copied = std::fs::metadata(sb.path().join("made/f")).unwrap();
    assert_eq!(
        (copied.uid(), copied.mode() & 0o777),
        (sb.launcher.uid, 0o600)
    );
    // A file of the image removed inside is gone for cp too (the upper's whiteout), stopped.
    exec(&sb, "img", "rm /etc/group");
    ok(&hutch(&sb, &["stop", "img"]));
    refused(
        &hutch(&sb, &["cp", "img:/etc/group", "group-out"]),
        "ENOENT",
    );
    assert!(!sb.path().join("group-out").exists());
    ok(&hutch(&sb, &["rm", "-f", "img"]));
}

#[test]
fn a_hostile_environment_cannot_steer_cp_onto_the_host() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    if setup(&sb).is_none() {
        assert!(
            !super::harness::strict(),
            "needs busybox and a subuid range"
        );
        return;
    }
    let outside = sb.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    sb.write("secret", "host secret\n");
    let secret = sb.path().join("secret");
    ok(&hutch(&sb, &["start", "img"]));
    // Symlinks leading to host paths (as the host and the scratch root name them), absolute
    // and climbing; and FIFOs where a file is read or written.
    exec(
        &sb,
        "img",
        &format!(
            "ln -s {out} /root/abs && ln -s ../../../../../..{out} /root/up && \
             ln -s /oldroot{out} /root/old && ln -s {secret} /root/s && \
             ln -s ../../../../..{secret} /root/s-up && mkfifo /root/fifo",
            out = outside.display(),
            secret = secret.display()
        ),
    );
    for dst in ["img:/root/abs", "img:/root/up", "img:/root/old"] {
        refused(&hutch(&sb, &["cp", "tree/run", dst]), "is a symlink");
        refused(
            &hutch(&sb, &["cp", "tree/run", &format!("{dst}/run")]),
            "ENOENT",
        );
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing on the host"
    );
    for src in ["img:/root/s", "img:/root/s-up"] {
        refused(&hutch(&sb, &["cp", src, "leak"]), "ENOENT");
        assert!(!sb.path().join("leak").exists());
    }
    // `..` never climbs above the environment's root.
    ok(&hutch(
        &sb,
        &["cp", "img:/../../../../etc/passwd", "up-passwd"],
    ));
    assert_eq!(
        std::fs::read_to_string(sb.path().join("up-passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    // A FIFO is neither read nor written: refused at once instead of blocking.
    refused(
        &hutch(&sb, &["cp", "tree/run", "img:/root/fifo"]),
        "is a FIFO",
    );
    refused(
        &hutch(&sb, &["cp", "img:/root/fifo", "fifo-out"]),
        "is a FIFO",
    );
    // Nor is one in a copied tree.
    exec(&sb, "img", "mkdir /root/t && mkfifo /root/t/pipe");
    refused(&hutch(&sb, &["cp", "img:/root/t", "t-out"]), "is a FIFO");
    ok(&hutch(&sb, &["rm", "-f", "img"]));
}

#[test]
fn copies_into_a_host_environment_land_in_its_own_home() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    sb.write("note", "note\n");
    ok(&hutch(&sb, &["create", "h", "--host"]));
    let home = sb.launcher.home.display().to_string();
    ok(&hutch(&sb, &["cp", "note", &format!("h:{home}/")]));
    let kept = sb.path().join("state/data/envs/h/home/note");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "note\n");
    assert_eq!(std::fs::metadata(&kept).unwrap().uid(), sb.launcher.uid);
    // The host's system is read-only in it, for cp too.
    refused(
        &hutch(&sb, &["cp", "note", "h:/usr/note"]),
        "Read-only file system",
    );
    assert!(!Path::new("/usr/note").exists());
    // Both sides must be named.
    refused(
        &hutch(&sb, &["cp", "note", "other"]),
        "neither names an environment",
    );
    refused(
        &hutch(&sb, &["cp", "h:/a", "h:/b"]),
        "both name an environment",
    );
    ok(&hutch(&sb, &["rm", "-f", "h"]));
}
