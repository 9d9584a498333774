//! Unit tests of the extractor: plain files in a temp dir, no user namespace.

use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn item<'a>(path: &'a str, kind: Kind<'a>) -> Item<'a> {
    let uid = rustix::process::getuid().as_raw().into();
    let gid = rustix::process::getgid().as_raw().into();
    Item {
        path: Path::new(path),
        kind,
        uid,
        gid,
        mode: 0o644,
        mtime: 1_000_000,
        xattrs: Vec::new(),
    }
}

fn extractor(dir: &Path) -> Extractor {
    // Without a user namespace only our own ids are chown-able: map "everything" so that
    // owners are taken as given (the items use ours).
    Extractor::create(&dir.join("rootfs"), u64::MAX, u64::MAX).unwrap()
}

fn file<'a>(path: &'a str, data: &'a mut &'static [u8]) -> Item<'a> {
    let size = data.len() as u64;
    item(path, Kind::File { data, size })
}

#[test]
fn cleans_names() {
    let inside = |s: &str| match clean(Path::new(s)).0 {
        Name::Inside(p) => p.display().to_string(),
        Name::Root => "<root>".into(),
        Name::DotDot => "<dotdot>".into(),
    };
    assert_eq!(inside("./etc/passwd"), "etc/passwd");
    assert_eq!(inside("/etc//passwd"), "etc/passwd");
    assert_eq!(inside("./"), "<root>");
    assert_eq!(inside("a/../../b"), "<dotdot>");
    assert!(clean(Path::new("/x")).1);
}

#[test]
fn writes_files_dirs_links_and_keeps_modes() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = extractor(dir.path());
    let mut data: &[u8] = b"hello";
    let mut dir_item = item("./usr/bin/", Kind::Dir);
    dir_item.mode = 0o755;
    x.add(dir_item).unwrap();
    let mut f = file("usr/bin/su", &mut data);
    f.mode = 0o4755;
    x.add(f).unwrap();
    x.add(item("bin", Kind::Symlink("usr/bin".into()))).unwrap();
    x.add(item("usr/bin/su2", Kind::Hardlink("/usr/bin/su".into())))
        .unwrap();
    // Implicit parents.
    let mut data2: &[u8] = b"x";
    x.add(file("a/b/c", &mut data2)).unwrap();
    let summary = x.finish().unwrap();
    assert_eq!(summary.entries, 5);
    let root = dir.path().join("rootfs");
    let su = std::fs::metadata(root.join("usr/bin/su")).unwrap();
    assert_eq!(su.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(su.nlink(), 2);
    assert_eq!(su.mtime(), 1_000_000);
    assert_eq!(
        std::fs::read_link(root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    assert_eq!(std::fs::read(root.join("a/b/c")).unwrap(), b"x");
    assert_eq!(
        std::fs::metadata(root.join("usr/bin")).unwrap().mtime(),
        1_000_000
    );
}

#[test]
fn nothing_escapes_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let mut x = extractor(dir.path());
    let mut d: &[u8] = b"evil";
    x.add(file("../outside/a", &mut d)).unwrap();
    x.add(item("link", Kind::Symlink(outside.clone()))).unwrap();
    // The symlink resolves inside the image, where its target does not exist (yet).
    let mut d: &[u8] = b"evil";
    let err = x.add(file("link/b", &mut d)).unwrap_err();
    assert!(err.to_string().contains("RESOLVE_IN_ROOT"), "{err}");
    x.add(item("up", Kind::Symlink("../../../..".into())))
        .unwrap();
    let mut d: &[u8] = b"evil";
    x.add(file("up/outside/c", &mut d)).unwrap();
    let mut d: &[u8] = b"evil";
    x.add(file(&format!("{}/d", outside.display()), &mut d))
        .unwrap();
    let mut d: &[u8] = b"evil";
    x.add(file("link/b", &mut d)).unwrap();
    let err = x
        .add(item("hl", Kind::Hardlink(outside.join("e"))))
        .unwrap_err();
    assert!(err.to_string().contains("hard link"), "{err}");
    let summary = x.finish().unwrap();
    assert_eq!(summary.dotdot, 1);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // They went inside instead.
    let root = dir.path().join("rootfs");
    assert!(root
        .join(outside.strip_prefix("/").unwrap())
        .join("b")
        .exists());
    assert!(root.join("outside/c").exists());
    assert!(root
        .join(outside.strip_prefix("/").unwrap())
        .join("d")
        .exists());
}

#[test]
fn replaces_earlier_entries_without_following_them() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let mut x = extractor(dir.path());
    x.add(item("f", Kind::Symlink(victim.clone()))).unwrap();
    let mut d: &[u8] = b"new";
    x.add(file("f", &mut d)).unwrap();
    x.finish().unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    assert_eq!(std::fs::read(dir.path().join("rootfs/f")).unwrap(), b"new");
}

#[test]
fn whiteouts_and_opaque_directories() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = extractor(dir.path());
    x.begin_layer();
    for name in ["etc/a", "etc/b", "var/x/y", "keep"] {
        let mut d: &[u8] = b"1";
        x.add(file(name, &mut d)).unwrap();
    }
    x.begin_layer();
    x.add(item(
        "etc/.wh.a",
        Kind::File {
            data: &mut &b""[..],
            size: 0,
        },
    ))
    .unwrap();
    x.add(item(
        "var/x/.wh..wh..opq",
        Kind::File {
            data: &mut &b""[..],
            size: 0,
        },
    ))
    .unwrap();
    let mut d: &[u8] = b"2";
    x.add(file("var/x/z", &mut d)).unwrap();
    x.add(item(
        "var/.wh.nothing",
        Kind::File {
            data: &mut &b""[..],
            size: 0,
        },
    ))
    .unwrap();
    let s = x.finish().unwrap();
    assert_eq!(s.whiteouts, 3);
    let root = dir.path().join("rootfs");
    assert!(!root.join("etc/a").exists());
    assert!(root.join("etc/b").exists());
    assert!(!root.join("var/x/y").exists());
    assert!(root.join("var/x/z").exists());
    assert!(root.join("keep").exists());
}

#[test]
fn truncated_data_is_an_error_and_devices_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = extractor(dir.path());
    let mut d: &[u8] = b"abc";
    let err = x
        .add(item(
            "f",
            Kind::File {
                data: &mut d,
                size: 10,
            },
        ))
        .unwrap_err();
    assert!(err.to_string().contains("3 of 10 bytes"), "{err}");
    x.add(item("dev/null", Kind::Device)).unwrap();
    assert_eq!(x.finish().unwrap().devices, 1);
}
