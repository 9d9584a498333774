//! `hutch create --bind/--ro-bind/--tmpfs`: host folders shared with an environment, kept in
//! env.toml and mounted at every start, restart and reboot, in host and image environments; and
//! what an environment can do against them (issue 18).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::environments::{busybox_image, hutch, Cleanup};
use super::harness::{eventually, ok, sandbox, stderr, unique_marker, Sandbox};

/// A directory of the test user's under the work directory, with a file `f` saying `text`.
fn shared_dir(sb: &Sandbox, name: &str, text: &str) -> PathBuf {
    sb.write(&format!("{name}/f"), text);
    sb.path().join(name)
}

fn exec(sb: &Sandbox, env: &str, script: &str) -> std::process::Output {
    hutch(sb, &["exec", env, "--", "sh", "-c", script])
}

fn definition(sb: &Sandbox, env: &str) -> String {
    std::fs::read_to_string(sb.path().join("state/data/envs").join(env).join("env.toml")).unwrap()
}

#[test]
fn host_environment_shares_folders_at_every_start() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    shared_dir(&sb, "rw", "rw\n");
    shared_dir(&sb, "ro", "ro\n");
    ok(&hutch(
        &sb,
        &[
            "create",
            "h",
            "--host",
            "--bind",
            "rw:/srv/rw",
            "--ro-bind",
            "ro:/srv/ro",
            "--tmpfs",
            "/scratch",
        ],
    ));
    let text = definition(&sb, "h");
    assert!(
        text.contains("[[mount]]") && text.contains("type = \"ro-bind\""),
        "{text}"
    );
    let check = "cat /srv/rw/f /srv/ro/f; touch /srv/rw/w && echo wrote; \
                 touch /srv/ro/w 2>&1 | grep -o 'Read-only file system'; \
                 ls -A /scratch; touch /scratch/t && echo scratch";
    let expected = "rw\nro\nwrote\nRead-only file system\nscratch\n";
    ok(&hutch(&sb, &["start", "h"]));
    assert_eq!(ok(&exec(&sb, "h", check)), expected);
    let written = sb.path().join("rw/w");
    assert_eq!(std::fs::metadata(&written).unwrap().uid(), sb.launcher.uid);
    std::fs::remove_file(&written).unwrap();
    // Again after a restart: the tmpfs is fresh, the shares are back.
    ok(&hutch(&sb, &["restart", "h"]));
    assert_eq!(ok(&exec(&sb, "h", check)), expected);
    // The home is the environment's own, not the user's real one.
    let home_file = format!("hutch-home-{}", unique_marker());
    ok(&exec(&sb, "h", &format!("touch ~/{home_file}")));
    assert!(!sb.launcher.home.join(&home_file).exists());
    ok(&hutch(&sb, &["rm", "-f", "h"]));
}

#[test]
fn bad_shares_are_refused_at_create_and_a_missing_one_at_start() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    shared_dir(&sb, "d", "d\n");
    for (args, says) in [
        (
            ["--bind", "d:/x/../../etc"],
            "must be an absolute path without `..`",
        ),
        (["--bind", "nope:/x"], "does not exist"),
        (["--tmpfs", "relative"], "must be an absolute path"),
    ] {
        let mut argv = vec!["create", "bad", "--host"];
        argv.extend(args);
        let out = hutch(&sb, &argv);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(!sb.path().join("state/data/envs/bad").exists());
    }
    ok(&hutch(&sb, &["create", "gone", "--host", "--bind", "d:/d"]));
    std::fs::remove_dir_all(sb.path().join("d")).unwrap();
    let out = hutch(&sb, &["start", "gone"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("kept in env.toml") && err.contains("does not exist"),
        "{err}"
    );
}

/// An image environment's root (root inside, its own upper layer) gets the shares too, and
/// cannot steer them out: a symlink planted where a share goes leads inside the environment,
/// a FIFO planted where a file share goes is covered without being opened.
#[test]
fn image_environment_shares_survive_reboot_and_cannot_be_steered_out() {
    let Some(sb) = sandbox() else { return };
    let _cleanup = Cleanup(&sb);
    let Some(tarball) = busybox_image(&sb) else {
        return;
    };
    shared_dir(&sb, "data", "data\n");
    let outside = sb.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    ok(&hutch(
        &sb,
        &["image", "import", tarball.to_str().unwrap(), "--name", "bb"],
    ));
    ok(&hutch(
        &sb,
        &[
            "create",
            "img",
            "--image",
            "bb",
            "--net",
            "none",
            "--bind",
            "data:/data",
            "--bind",
            "data:/planted/x",
            "--ro-bind",
            "data/f:/srv/dir/f",
        ],
    ));
    ok(&hutch(&sb, &["start", "img"]));
    // ls and status name the image, and status the shares.
    let listing = ok(&hutch(&sb, &["ls"]));
    let row = listing.lines().find(|l| l.starts_with("img ")).unwrap();
    assert_eq!(row.split_whitespace().nth(2), Some("bb"), "{listing}");
    let status = ok(&hutch(&sb, &["status", "img"]));
    assert!(status.contains("source:    image bb\n"), "{status}");
    let data = sb.path().join("data");
    assert!(
        status.contains(&format!("shared:    --bind {}:/data\n", data.display())),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&hutch(&sb, &["status", "img", "--json"]))).unwrap();
    assert_eq!(
        (json["source"].as_str(), json["image"].as_str()),
        (Some("image"), Some("bb"))
    );
    assert_eq!(
        ok(&exec(
            &sb,
            "img",
            "cat /data/f /planted/x/f /srv/dir/f; id -u; touch /data/by-root"
        )),
        "data\ndata\ndata\n0\n"
    );
    // Root inside is the user outside: what it writes in a share is the user's.
    let written = std::fs::metadata(sb.path().join("data/by-root")).unwrap();
    assert_eq!(written.uid(), sb.launcher.uid);
    // reboot(2) inside: PID 1 starts again, the shares with it.
    let _ = hutch(&sb, &["exec", "img", "--", "reboot", "-f"]);
    let restarts = || -> serde_json::Value {
        let status = ok(&hutch(&sb, &["status", "img", "--json"]));
        serde_json::from_str::<serde_json::Value>(&status).unwrap()["restarts"].clone()
    };
    let rebooted = eventually(20, || {
        restarts() == 1 && exec(&sb, "img", "cat /data/f").status.success()
    });
    assert!(
        rebooted,
        "{:?} {} {}",
        restarts(),
        stderr(&exec(&sb, "img", "cat /data/f")),
        ok(&hutch(&sb, &["logs", "img"]))
    );

    // The environment moves the shares' parents away and plants a symlink leading to the host
    // path of a directory (as the scratch root names it while mounts are made), and a FIFO.
    let planted = format!("/oldroot{}", outside.display());
    ok(&exec(
        &sb,
        "img",
        &format!(
            "busybox mv /planted /moved && ln -s {planted} /planted && \
             busybox mv /srv/dir /srv/old && mkdir /srv/dir && mkfifo /srv/dir/f"
        ),
    ));
    ok(&hutch(&sb, &["restart", "img"]));
    assert_eq!(
        ok(&exec(&sb, "img", &format!("cat {planted}/x/f /srv/dir/f"))),
        "data\ndata\n"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing on the host"
    );
    assert!(Path::new(&sb.path().join("state/data/envs/img/upper")).exists());
    ok(&hutch(&sb, &["rm", "-f", "img"]));
}
