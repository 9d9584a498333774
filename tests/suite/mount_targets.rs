//! Mount destinations steered by what a sandbox or an image contains (issue 15, item 2): a
//! symlink planted in a writable bind, in the `dev` profile's persistent home or in an image
//! must never make hutch create files or mount anything on the host. While the root is built
//! the host's tree hangs at /oldroot, so each attack points its symlink there. Each test runs the
//! attack as the unprivileged test user and checks the host afterwards.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::harness::{ok, sandbox, stderr, stdout, unique_marker, Sandbox};

/// Entries of a host directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A directory owned by the test user in its work directory.
fn dir(sb: &Sandbox, relative: &str) -> PathBuf {
    let path = sb.write(&format!("{relative}/.keep"), "");
    std::fs::remove_file(&path).unwrap();
    path.parent().unwrap().to_owned()
}

/// How the host's `path` is seen from the scratch root while the sandbox's root is built.
fn via_oldroot(path: &Path) -> String {
    format!("/oldroot{}", path.display())
}

/// The command's output: the mount went through the symlink to its target resolved inside the
/// sandbox, made there (in a shadow of the read-only `/`), as in a chroot.
#[track_caller]
fn assert_placed_inside(out: &Output, expected: &str) {
    assert_eq!(ok(out), expected, "{}", stderr(out));
}

#[test]
fn a_symlink_planted_in_a_writable_bind_does_not_steer_a_later_mount() {
    let Some(sb) = sandbox() else { return };
    let proj = dir(&sb, "proj");
    let target = dir(&sb, "target");
    sb.write("F", "planted\n");
    // The sandbox plants the symlink in the project it may write.
    let link = format!("ln -s {} /work/sub", via_oldroot(&target));
    ok(&sb.run(&["--bind", "proj:/work", "--", "sh", "-c", &link]));
    assert!(proj.join("sub").is_symlink());
    // The next run binds a file below it: it lands at the symlink's target inside the sandbox.
    let inside = format!("{}/planted", via_oldroot(&target));
    let out = sb.run(&[
        "--bind",
        "proj:/work",
        "--ro-bind",
        "F:/work/sub/planted",
        "--",
        "cat",
        "/work/sub/planted",
        &inside,
    ]);
    assert!(entries(&target).is_empty(), "{:?}", entries(&target));
    assert_placed_inside(&out, "planted\nplanted\n");
}

#[test]
fn bind_destinations_through_symlinks_leading_out_stay_inside() {
    let Some(sb) = sandbox() else { return };
    let proj = dir(&sb, "proj");
    let outside = dir(&sb, "outside");
    dir(&sb, "data");
    sb.write("data/file", "data\n");
    // Absolute into the host's tree, and climbing out of the new root into it.
    symlink(via_oldroot(&outside), proj.join("abs")).unwrap();
    symlink(
        format!("../..{}", via_oldroot(&outside)),
        proj.join("climb"),
    )
    .unwrap();
    let inside = format!("{}/d/file", via_oldroot(&outside));
    for dst in ["/work/abs/d", "/work/climb/d"] {
        let out = sb.run(&[
            "--bind",
            "proj:/work",
            "--bind",
            &format!("data:{dst}"),
            "--",
            "cat",
            &inside,
        ]);
        assert!(
            entries(&outside).is_empty(),
            "{dst}: {:?}",
            entries(&outside)
        );
        assert_placed_inside(&out, "data\n");
    }

    // Climbing above the root ends at the sandbox's `/`, as in a chroot: the mount lands in the
    // sandbox's own /tmp, and the host's /tmp does not get the directory.
    symlink("../../../../../..", proj.join("up")).unwrap();
    let name = format!("hutch-{}", unique_marker());
    let dst = format!("/work/up/tmp/{name}");
    let out = sb.run(&[
        "--bind",
        "proj:/work",
        "--ro-bind",
        &format!("data:{dst}"),
        "--",
        "cat",
        &format!("/tmp/{name}/file"),
    ]);
    assert_eq!(ok(&out), "data\n");
    assert!(!Path::new("/tmp").join(&name).exists());
}

#[test]
fn the_dev_home_cannot_redirect_a_later_bind() {
    let Some(sb) = sandbox() else { return };
    let target = dir(&sb, "target");
    sb.write("F", "planted\n");
    // The dev home lives in the data directory: this test's own, not the test user's.
    let data = dir(&sb, "data");
    let run = |args: &[&str]| -> Output {
        let mut cmd = sb.hutch(["run", "--profile", "dev", "--net", "none"]);
        cmd.env("XDG_DATA_HOME", &data).args(args);
        cmd.output().expect("spawn hutch")
    };
    let home = sb.launcher.home.display().to_string();
    let link = format!("{home}/proj");
    ok(&run(&["--", "ln", "-s", &via_oldroot(&target), &link]));
    let dst = format!("{home}/proj/planted");
    let inside = format!("{}/planted", via_oldroot(&target));
    let out = run(&["--ro-bind", &format!("F:{dst}"), "--", "cat", &inside]);
    assert!(entries(&target).is_empty(), "{:?}", entries(&target));
    assert_placed_inside(&out, "planted\n");
}

/// Whether pasta is on the PATH the harness gives hutch.
fn has_pasta() -> bool {
    ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join("pasta").exists())
}

/// `hutch --root <work>/state ARGS...`
fn env_hutch(sb: &Sandbox, args: &[&str]) -> Output {
    let root = sb.path().join("state");
    let mut cmd = sb.hutch(["--root".as_ref(), root.as_os_str()]);
    cmd.args(args);
    cmd.output().expect("spawn hutch")
}

/// Stops and removes the environment even when the test fails.
struct Remove<'a>(&'a Sandbox, &'a str);

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        let _ = env_hutch(self.0, &["rm", "-f", self.1]);
    }
}

#[test]
fn an_image_cannot_place_generated_files_outside_its_root() {
    let Some(sb) = sandbox() else { return };
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() || !has_pasta() {
        assert!(
            !super::harness::strict(),
            "install busybox-static and passt"
        );
        eprintln!("skipping: needs /bin/busybox and pasta");
        return;
    }
    // An image whose /etc/hosts and /etc/resolv.conf lead, through /x, to hutch's own state of
    // environments on the host, as seen from the scratch root.
    let image = dir(&sb, "image");
    for d in ["bin", "etc", "root", "tmp", "proc", "dev", "run"] {
        std::fs::create_dir(image.join(d)).unwrap();
    }
    std::fs::copy(busybox, image.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "ls", "ln"] {
        symlink("busybox", image.join("bin").join(applet)).unwrap();
    }
    std::fs::write(image.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    symlink("/x/hosts", image.join("etc/hosts")).unwrap();
    symlink("../x/resolv.conf", image.join("etc/resolv.conf")).unwrap();
    let envs = sb.path().join("state/data/envs");
    symlink(via_oldroot(&envs), image.join("x")).unwrap();
    let image_arg = image.to_str().unwrap();
    ok(&env_hutch(
        &sb,
        &["image", "import", image_arg, "--name", "evil"],
    ));
    ok(&env_hutch(
        &sb,
        &["create", "e", "--image", "evil", "--net", "pasta"],
    ));
    let _remove = Remove(&sb, "e");
    ok(&env_hutch(&sb, &["start", "e"]));
    assert_eq!(
        entries(&envs),
        ["e"],
        "nothing beside the environment's own state"
    );
    // Contained: the generated files are where the symlinks lead inside the environment.
    let inside = ok(&env_hutch(
        &sb,
        &["exec", "e", "--", "cat", "/etc/hosts", "/etc/resolv.conf"],
    ));
    assert!(inside.contains("Generated by hutch"), "{inside}");
    assert!(inside.contains("nameserver"), "{inside}");
    let listed = env_hutch(&sb, &["ls"]);
    assert!(stdout(&listed).contains("running"), "{}", stderr(&listed));
    // Root inside points /etc/resolv.conf elsewhere, for the next boot.
    let relink = format!(
        "ln -sfn {} /y && ln -sfn /y/planted /etc/resolv.conf",
        via_oldroot(&envs)
    );
    ok(&env_hutch(&sb, &["exec", "e", "--", "sh", "-c", &relink]));
    ok(&env_hutch(&sb, &["restart", "e"]));
    let inside = ok(&env_hutch(
        &sb,
        &["exec", "e", "--", "cat", "/etc/resolv.conf"],
    ));
    assert!(inside.contains("nameserver"), "{inside}");
    ok(&env_hutch(&sb, &["stop", "e"]));
    assert_eq!(entries(&envs), ["e"]);
}

#[test]
fn mount_errors_name_paths_as_the_user_wrote_them() {
    let Some(sb) = sandbox() else { return };
    dir(&sb, "proj");
    sb.write("F", "file\n");
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--ro-bind", "F:/usr"],
            &["on /usr", "EISDIR", "a file on a file"],
        ),
        (
            &["--ro-bind", "proj:/etc/passwd"],
            &["on /etc/passwd", "ENOTDIR", "a file on a file"],
        ),
        // A magic link would lead anywhere: refused, not followed.
        (
            &["--bind", "proj:/proc/self/cwd/x"],
            &["mount point /proc/self/cwd/x", "ELOOP", "magic links"],
        ),
    ];
    for (args, expected) in cases {
        let mut argv = args.to_vec();
        argv.extend(["--", "true"]);
        let out = sb.run(&argv);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        for text in expected {
            assert!(err.contains(text), "{args:?}: {text:?} in {err}");
        }
        for internal in ["/newroot", "/oldroot"] {
            assert!(!err.contains(internal), "{args:?}: {internal} in {err}");
        }
    }
}

/// Python that makes mount_setattr(2) fail with ENOSYS, as on kernels before 5.12, then execs
/// its arguments: a classic BPF seccomp filter (x86_64 numbers).
#[cfg(target_arch = "x86_64")]
const WITHOUT_MOUNT_SETATTR: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]
SYS_mount_setattr, ENOSYS = 442, 38
insns = (Insn * 4)(
    Insn(0x20, 0, 0, 0),                      # ld [nr]
    Insn(0x15, 0, 1, SYS_mount_setattr),      # jeq mount_setattr
    Insn(0x06, 0, 0, 0x00050000 | ENOSYS),    # ret ERRNO(ENOSYS)
    Insn(0x06, 0, 0, 0x7fff0000),             # ret ALLOW
)
prog = Prog(4, insns)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
   libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"#;

/// Mount points and the per-mount flags of the mount on top of each, as the sandbox sees them.
/// (A mount the host stacked under another at the same point is out of reach by path, so the
/// remounts cannot change it; it is also out of reach for the sandbox.)
fn mount_flags(mountinfo: &str) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in mountinfo.lines() {
        let mut fields = line.split(' ');
        let (Some(mount_point), Some(flags)) = (fields.nth(4), fields.next()) else {
            continue;
        };
        // A stacked mount is a child of the one it covers: listed after it.
        seen.retain(|(point, _)| point != mount_point);
        seen.push((mount_point.to_owned(), flags.to_owned()));
    }
    seen
}

#[test]
#[cfg(target_arch = "x86_64")]
fn without_mount_setattr_remounts_give_the_same_flags() {
    let Some(sb) = sandbox() else { return };
    dir(&sb, "proj");
    sb.write("proj/file", "x\n");
    let mut args = vec!["run", "--ro-bind", "proj:/mnt/ro"];
    // With pasta, the generated /etc/hosts and /etc/resolv.conf are bound read-only too.
    if has_pasta() {
        args.extend(["--net", "pasta"]);
    }
    args.extend([
        "--",
        "sh",
        "-c",
        "cat /proc/self/mountinfo; touch /mnt/ro/new /etc/hosts 2>&1 || true",
    ]);
    let with = ok(&sb.hutch(&args).output().unwrap());
    let mut without = sb.launcher.program("python3", sb.path());
    without
        .args(["-c", WITHOUT_MOUNT_SETATTR])
        .arg(&sb.launcher.binary)
        .args(args);
    let without = ok(&without.output().unwrap());
    assert!(
        without.contains("touch: cannot touch '/mnt/ro/new': Read-only file system"),
        "{without}"
    );
    if has_pasta() {
        assert!(
            without.contains("touch: cannot touch '/etc/hosts': Read-only file system"),
            "{without}"
        );
    }
    assert_eq!(mount_flags(&without), mount_flags(&with));
    // The host / is bound with its submounts: each was remounted read-only on its own.
    let host_mounts = mount_flags(&without)
        .into_iter()
        .filter(|(_, flags)| flags.split(',').any(|f| f == "ro"))
        .count();
    assert!(host_mounts >= 2, "{without}");
}

/// A destination whose parent is read-only is made in a shadow of that parent, as bwrap's
/// tmpfs root allows (the README's own example): the host gets nothing, what was there stays
/// visible and read-only, and so does the shadow.
#[test]
fn destinations_under_read_only_directories_are_made_in_a_shadow() {
    let Some(sb) = sandbox() else { return };
    dir(&sb, "data");
    sb.write("data/file", "data\n");
    let name = format!("hutch-{}", unique_marker());
    let top = format!("/{name}");
    let deep = format!("/usr/{name}/sub/deep");
    let script = format!(
        "cat {top}/file {deep}/file; pwd; ls {top}; test -x /usr/bin/env && echo usr-kept; \\
         for p in / /usr {top} /usr/bin; do touch $p/x 2>&1 | grep -q 'Read-only' && echo ro; done"
    );
    let out = sb.run(&[
        "--ro-bind",
        &format!("data:{top}"),
        "--bind",
        &format!("data:{deep}"),
        "--chdir",
        &top,
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        ok(&out),
        format!("data\ndata\n{top}\nfile\nusr-kept\nro\nro\nro\nro\n"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&top).exists() && !Path::new("/usr").join(&name).exists());
}
