//! `hutch image import / ls / rm`, with archives and layouts built here (no network): owners kept
//! as subordinate ids, OCI layers with whiteouts, hostile archives that must write nothing
//! outside the image, broken archives that must leave nothing behind.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::unistd::{Gid, Uid};
use sha2::{Digest, Sha256};

use super::harness::{ok, sandbox, stderr, stdout, Sandbox};

/// A sandbox launcher with a state root in its work directory.
struct Images {
    sb: Sandbox,
    root: PathBuf,
}

impl Images {
    fn new() -> Option<Images> {
        let sb = sandbox()?;
        let root = sb.path().join("state");
        Some(Images { sb, root })
    }

    fn hutch(&self, args: &[&str]) -> Command {
        let mut cmd = self.sb.hutch(["--root".as_ref(), self.root.as_os_str()]);
        cmd.args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.hutch(args).output().expect("spawn hutch")
    }

    /// Put `bytes` in the work directory, readable by the test user.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.sb.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        give(self, &path);
        path
    }

    fn import(&self, bytes: &[u8], name: &str) -> Output {
        let path = self.file(&format!("{name}.input"), bytes);
        self.run(&["image", "import", path.to_str().unwrap(), "--name", name])
    }

    fn images_dir(&self) -> PathBuf {
        self.root.join("data/images")
    }

    fn rootfs(&self, name: &str) -> PathBuf {
        self.images_dir().join(name).join("rootfs")
    }

    /// Everything in the store but the lock file.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.images_dir())
            .map(|r| {
                r.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n != ".lock")
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn ls_json(&self) -> serde_json::Value {
        serde_json::from_str(&ok(&self.run(&["image", "ls", "--json"]))).unwrap()
    }
}

fn give(images: &Images, path: &Path) {
    let l = images.sb.launcher;
    nix::unistd::chown(path, Some(Uid::from_raw(l.uid)), Some(Gid::from_raw(l.gid))).unwrap();
}

fn strict() -> bool {
    std::env::var_os("HUTCH_TEST_STRICT").is_some_and(|v| v == "1")
}

/// The first subordinate uid and gid of the test user, if it has ranges and newuidmap exists.
fn ranges(images: &Images) -> Option<(u32, u32)> {
    let l = images.sb.launcher;
    let first = |file: &str| -> Option<u32> {
        std::fs::read_to_string(file)
            .ok()?
            .lines()
            .find_map(|line| {
                let mut f = line.split(':');
                let owner = f.next()?;
                let start = f.next()?.parse().ok()?;
                let count: u32 = f.next()?.parse().ok()?;
                ((owner == l.name || owner == l.uid.to_string()) && count >= 65536).then_some(start)
            })
    };
    let found = (|| {
        if !Path::new("/usr/bin/newuidmap").exists() {
            return None;
        }
        Some((first("/etc/subuid")?, first("/etc/subgid")?))
    })();
    if found.is_none() {
        let why = format!(
            "{} has no subordinate id ranges of 65536 or newuidmap is missing",
            l.name
        );
        assert!(!strict(), "HUTCH_TEST_STRICT=1: {why}");
        eprintln!("skipping the owner checks: {why}");
    }
    found
}

/// A tar built entry by entry; names and link targets are written raw, so that hostile ones
/// (absolute, with `..`) can be made.
struct Tar(tar::Builder<Vec<u8>>);

struct Entry<'a> {
    name: &'a str,
    kind: tar::EntryType,
    data: &'a [u8],
    link: &'a str,
    mode: u32,
    uid: u64,
    gid: u64,
}

fn entry(name: &str) -> Entry<'_> {
    Entry {
        name,
        kind: tar::EntryType::Regular,
        data: b"",
        link: "",
        mode: 0o644,
        uid: 0,
        gid: 0,
    }
}

impl Tar {
    fn new() -> Tar {
        Tar(tar::Builder::new(Vec::new()))
    }

    fn add(mut self, e: Entry<'_>) -> Tar {
        let mut header = tar::Header::new_old();
        let raw = header.as_old_mut();
        raw.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        raw.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        header.set_entry_type(e.kind);
        header.set_size(e.data.len() as u64);
        header.set_mode(e.mode);
        header.set_uid(e.uid);
        header.set_gid(e.gid);
        header.set_mtime(1_600_000_000);
        header.set_cksum();
        self.0.append(&header, e.data).unwrap();
        self
    }

    fn dir(self, name: &str, mode: u32, uid: u64, gid: u64) -> Tar {
        self.add(Entry {
            kind: tar::EntryType::Directory,
            mode,
            uid,
            gid,
            ..entry(name)
        })
    }

    fn file(self, name: &str, data: &[u8]) -> Tar {
        self.add(Entry {
            data,
            ..entry(name)
        })
    }

    fn symlink(self, name: &str, target: &str) -> Tar {
        self.add(Entry {
            kind: tar::EntryType::Symlink,
            link: target,
            mode: 0o777,
            ..entry(name)
        })
    }

    fn hardlink(self, name: &str, target: &str) -> Tar {
        self.add(Entry {
            kind: tar::EntryType::Link,
            link: target,
            ..entry(name)
        })
    }

    fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[test]
fn owners_modes_and_links_are_kept_as_subordinate_ids() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .dir("./etc/", 0o755, 0, 0)
        .add(Entry {
            data: b"root:x:0:0::/root:/bin/sh\n",
            ..entry("./etc/passwd")
        })
        .add(Entry {
            data: b"secret",
            mode: 0o640,
            uid: 0,
            gid: 42,
            ..entry("./etc/shadow")
        })
        .dir("./home/", 0o755, 0, 0)
        .dir("./home/user/", 0o700, 1000, 1000)
        .add(Entry {
            data: b"mine",
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            ..entry("./home/user/notes")
        })
        .add(Entry {
            data: b"nobody's",
            uid: 65534,
            gid: 65534,
            ..entry("./nobody")
        })
        .dir("./usr/", 0o755, 0, 0)
        .dir("./usr/bin/", 0o755, 0, 0)
        .add(Entry {
            data: b"#!/bin/sh\n",
            mode: 0o4755,
            ..entry("./usr/bin/su")
        })
        .add(Entry {
            data: b"#!/bin/sh\n",
            mode: 0o2755,
            uid: 0,
            gid: 5,
            ..entry("./usr/bin/wall")
        })
        .dir("./tmp/", 0o1777, 0, 0)
        .symlink("./bin", "usr/bin")
        .hardlink("./usr/bin/su-again", "./usr/bin/su")
        .add(Entry {
            kind: tar::EntryType::Char,
            ..entry("./dev-null")
        })
        .finish();
    let out = images.import(&tar, "owners");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("skipped 1 device node"), "{err}");
    let root = images.rootfs("owners");
    let meta = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap();
    assert_eq!(meta("usr/bin/su").mode() & 0o7777, 0o4755);
    assert_eq!(meta("usr/bin/wall").mode() & 0o7777, 0o2755);
    assert_eq!(meta("tmp").mode() & 0o7777, 0o1777);
    assert_eq!(meta("home/user").mode() & 0o7777, 0o700);
    assert_eq!(meta("usr/bin/su").nlink(), 2);
    assert_eq!(meta("usr/bin/su").ino(), meta("usr/bin/su-again").ino());
    assert_eq!(
        std::fs::read_link(root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    assert_eq!(meta("etc/passwd").mtime(), 1_600_000_000);
    assert!(!root.join("dev-null").exists());
    let Some((subuid, subgid)) = ranges(&images) else {
        return;
    };
    // Inside id 0 is the user; inside id N > 0 is the N-th subordinate id.
    let l = images.sb.launcher;
    let owner = |p: &str| (meta(p).uid(), meta(p).gid());
    assert_eq!(owner("etc/passwd"), (l.uid, l.gid));
    assert_eq!(owner("etc/shadow"), (l.uid, subgid + 42 - 1));
    assert_eq!(owner("home/user"), (subuid + 999, subgid + 999));
    assert_eq!(owner("home/user/notes"), (subuid + 999, subgid + 999));
    assert_eq!(owner("nobody"), (subuid + 65533, subgid + 65533));
    assert_eq!(owner("usr/bin/wall"), (l.uid, subgid + 4));
    let toml = std::fs::read_to_string(images.images_dir().join("owners/image.toml")).unwrap();
    assert!(toml.contains("mapping = \"ranges\""), "{toml}");

    // Removing it needs the namespace too: the user cannot unlink in /home/user from outside.
    ok(&images.run(&["image", "rm", "owners"]));
    assert_eq!(images.entries(), Vec::<String>::new());
}

#[test]
fn without_id_ranges_owners_collapse_to_the_user_with_one_warning() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .add(Entry {
            data: b"x",
            uid: 1000,
            gid: 1000,
            mode: 0o4755,
            ..entry("./f")
        })
        .finish();
    let path = images.file("single.tar", &tar);
    // No newuidmap on this PATH: the single-id fallback.
    let out = images
        .hutch(&[
            "image",
            "import",
            path.to_str().unwrap(),
            "--name",
            "single",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(
        err.contains("newuidmap/newgidmap are not installed"),
        "{err}"
    );
    assert!(err.contains("apt install uidmap"), "{err}");
    let l = images.sb.launcher;
    let f = std::fs::metadata(images.rootfs("single").join("f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (l.uid, l.gid));
    assert_eq!(f.mode() & 0o7777, 0o4755);
    let ls = images.ls_json();
    assert_eq!(ls[0]["name"], "single");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

#[test]
fn compression_is_told_by_magic_bytes_and_ls_shows_it() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .file("./hello", b"hello")
        .finish();
    // Misleading file names on purpose: the contents decide.
    for (name, bytes) in [
        ("plain", tar.clone()),
        ("gz", gzip(&tar)),
        ("xz", xz(&tar)),
        ("zst", zstd(&tar)),
    ] {
        let out = images.import(&bytes, name);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            std::fs::read(images.rootfs(name).join("hello")).unwrap(),
            b"hello"
        );
    }
    let ls = images.ls_json();
    let formats: Vec<(&str, &str)> = ls
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        formats,
        [
            ("gz", "tar+gzip"),
            ("plain", "tar"),
            ("xz", "tar+xz"),
            ("zst", "tar+zstd")
        ]
    );
    let plain = &ls[1];
    assert_eq!(plain["digest"], format!("sha256:{}", sha256(&tar)));
    assert_eq!(plain["size"], 5);
    assert!(plain["created"].as_str().unwrap().ends_with('Z'), "{plain}");
    assert!(plain["source"].as_str().unwrap().ends_with("plain.input"));
    let table = ok(&images.run(&["image", "ls"]));
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("tar+zstd"), "{table}");
}

#[test]
fn standard_input_and_directories_import() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .dir("./etc/", 0o755, 0, 0)
        .file("./etc/os-release", b"ID=test\n")
        .symlink("./link", "etc/os-release")
        .finish();
    let mut child = images
        .hutch(&["image", "import", "-", "--name", "piped"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&zstd(&tar)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Copy the imported tree as a directory source.
    let src = images.rootfs("piped");
    let out = images.run(&["image", "import", src.to_str().unwrap(), "--name", "copied"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let copied = images.rootfs("copied");
    assert_eq!(
        std::fs::read(copied.join("etc/os-release")).unwrap(),
        b"ID=test\n"
    );
    assert_eq!(
        std::fs::read_link(copied.join("link")).unwrap(),
        Path::new("etc/os-release")
    );
    // Standard input needs a name.
    let out = images.run(&["image", "import", "-"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
}

#[test]
fn names_are_validated() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new().file("f", b"").finish();
    let path = images.file("ok.tar", &tar);
    for bad in ["../x", "a/b", ".hidden", "-x", "a b", &"x".repeat(64)] {
        let flag = format!("--name={bad}");
        let out = images.run(&["image", "import", path.to_str().unwrap(), &flag]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
        assert!(
            stderr(&out).contains("invalid image name"),
            "{}",
            stderr(&out)
        );
    }
    let out = images.run(&["image", "rm", "../x"]);
    assert_eq!(out.status.code(), Some(125));
    // The default name comes from the file name.
    ok(&images.run(&["image", "import", path.to_str().unwrap()]));
    let out = images.run(&["image", "import", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("exists already"), "{}", stderr(&out));
    assert_eq!(images.entries(), ["ok"]);
}

#[test]
fn rm_removes_and_refuses_images_in_use() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new().dir("./", 0o755, 0, 0).file("f", b"x").finish();
    ok(&images.import(&tar, "base"));
    ok(&images.import(&tar, "other"));
    let env = images.root.join("data/envs/dev");
    std::fs::create_dir_all(&env).unwrap();
    std::fs::write(env.join("env.toml"), "image = \"base\"\n").unwrap();
    let out = images.run(&["image", "rm", "base"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("used by environment \"dev\""),
        "{}",
        stderr(&out)
    );
    ok(&images.run(&["image", "rm", "other"]));
    assert_eq!(images.entries(), ["base"]);
    let out = images.run(&["image", "rm", "other"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("no image named"), "{}", stderr(&out));
}

fn oci_layout(images: &Images) -> PathBuf {
    oci_layout_hashed(images, "layout", "sha256")
}

/// An OCI layout in `dir` of the work directory whose blobs are named by `algorithm`
/// (sha256 or sha512).
fn oci_layout_hashed(images: &Images, dir: &str, algorithm: &str) -> PathBuf {
    let layout = images.sb.path().join(dir);
    let blobs = layout.join("blobs").join(algorithm);
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let hex = match algorithm {
            "sha256" => sha256(bytes),
            _ => format!("{:x}", sha2::Sha512::digest(bytes)),
        };
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("{algorithm}:{hex}"), bytes.len())
    };
    let lower = Tar::new()
        .dir("./", 0o755, 0, 0)
        .dir("./etc/", 0o755, 0, 0)
        .file("./etc/keep", b"lower")
        .file("./etc/gone", b"lower")
        .dir("./etc/gone-dir/", 0o755, 0, 0)
        .file("./etc/gone-dir/x", b"lower")
        .dir("./opaque/", 0o755, 0, 0)
        .file("./opaque/old", b"lower")
        .finish();
    let upper = Tar::new()
        .dir("./etc/", 0o755, 0, 0)
        .file("./etc/.wh.gone", b"")
        .file("./etc/.wh.gone-dir", b"")
        .file("./etc/new", b"upper")
        .dir("./opaque/", 0o755, 0, 0)
        .file("./opaque/.wh..wh..opq", b"")
        .file("./opaque/fresh", b"upper")
        .finish();
    let (lower_digest, lower_size) = put(&gzip(&lower));
    let (upper_digest, upper_size) = put(&upper);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []}
    });
    let (config_digest, config_size) = put(config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": lower_digest, "size": lower_size},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "digest": upper_digest, "size": upper_size}
        ]
    });
    let (manifest_digest, manifest_size) = put(manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": "test"}}]
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    for entry in [
        "".to_owned(),
        "blobs".to_owned(),
        format!("blobs/{algorithm}"),
    ] {
        std::fs::set_permissions(layout.join(entry), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    layout
}

/// The layout's uncompressed layer blob (the upper one, a plain tar).
fn plain_layer(layout: &Path, algorithm: &str) -> PathBuf {
    std::fs::read_dir(layout.join("blobs").join(algorithm))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.starts_with(b"./etc/") && bytes.windows(5).any(|w| w == b"upper")
        })
        .expect("a plain tar blob")
}

#[test]
fn sha512_layouts_are_verified_too() {
    let Some(images) = Images::new() else { return };
    let layout = oci_layout_hashed(&images, "layout512", "sha512");
    let out = images.run(&["image", "import", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(images.rootfs("layout512").join("etc/new")).unwrap(),
        "upper"
    );
    // One byte of a file's contents changed: the tar stays valid (its checksums cover headers
    // only), so the digest alone can tell.
    let blob = plain_layer(&layout, "sha512");
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.windows(5).position(|w| w == b"upper").unwrap();
    bytes[at] = b'U';
    std::fs::write(&blob, bytes).unwrap();
    let out = images.run(&["image", "import", layout.to_str().unwrap(), "--name", "bad"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the layer is corrupt") && stderr(&out).contains("sha512:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(images.entries(), ["layout512"]);
}

#[test]
fn digests_of_unknown_algorithms_are_refused() {
    let Some(images) = Images::new() else { return };
    let layout = oci_layout(&images);
    // Name the plain layer by an algorithm hutch cannot check, blob and manifest alike.
    let blob = plain_layer(&layout, "sha256");
    let hex = blob.file_name().unwrap().to_str().unwrap().to_owned();
    let other = layout.join("blobs/md5");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&blob, other.join(&hex[..32])).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let manifest_path = layout.join("blobs/sha256").join(&manifest_digest[7..]);
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap()
        .replace(&format!("sha256:{hex}"), &format!("md5:{}", &hex[..32]));
    let new_hex = sha256(manifest.as_bytes());
    std::fs::write(layout.join("blobs/sha256").join(&new_hex), &manifest).unwrap();
    let index = index
        .to_string()
        .replace(&manifest_digest, &format!("sha256:{new_hex}"))
        .replace(
            &format!(
                "\"size\":{}",
                std::fs::metadata(&manifest_path).unwrap().len()
            ),
            &format!("\"size\":{}", manifest.len()),
        );
    std::fs::write(layout.join("index.json"), index).unwrap();
    let out = images.run(&["image", "import", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"md5\", which hutch cannot verify (known: sha256, sha512)"),
        "{}",
        stderr(&out)
    );
    assert!(images.entries().is_empty(), "{:?}", images.entries());
}

#[test]
fn a_blob_that_is_a_symlink_to_a_host_file_is_refused() {
    let Some(images) = Images::new() else { return };
    let layout = oci_layout(&images);
    // The host file has exactly the blob's bytes, so only the symlink itself can be refused:
    // hutch must not read a file outside the layout at all.
    let blob = plain_layer(&layout, "sha256");
    let outside = images.file("host-file", &std::fs::read(&blob).unwrap());
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let out = images.run(&["image", "import", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symlink or lies behind one"),
        "{}",
        stderr(&out)
    );
    // Nor through a symlinked directory of blobs.
    let layout = oci_layout_hashed(&images, "layout2", "sha256");
    let blobs = layout.join("blobs/sha256");
    let elsewhere = images.sb.path().join("elsewhere");
    std::fs::rename(&blobs, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &blobs).unwrap();
    let out = images.run(&["image", "import", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symlink or lies behind one"),
        "{}",
        stderr(&out)
    );
    assert!(images.entries().is_empty(), "{:?}", images.entries());
}

#[test]
fn create_refuses_a_path_as_an_image_name() {
    let Some(images) = Images::new() else { return };
    let tar = Tar::new().dir("./", 0o755, 0, 0).file("f", b"x").finish();
    ok(&images.import(&tar, "x"));
    for bad in ["./x", "../images/x", "x/", "/x"] {
        let out = images.run(&["create", "dev", "--image", bad]);
        assert_eq!(out.status.code(), Some(125), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("not an image name"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    assert!(!images.root.join("data/envs/dev").exists());
    // So `image rm` can always tell an image is in use.
    ok(&images.run(&["image", "rm", "x"]));
}

#[test]
fn oci_layers_apply_in_order_with_whiteouts_and_opaque_directories() {
    let Some(images) = Images::new() else { return };
    let layout = oci_layout(&images);
    let out = images.run(&["image", "import", layout.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = images.rootfs("layout");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    assert_eq!(read("etc/keep").as_deref(), Some("lower"));
    assert_eq!(read("etc/new").as_deref(), Some("upper"));
    assert_eq!(read("opaque/fresh").as_deref(), Some("upper"));
    for gone in ["etc/gone", "etc/gone-dir", "opaque/old", "etc/.wh.gone"] {
        assert!(!root.join(gone).exists(), "{gone} should be gone");
    }
    let ls = images.ls_json();
    assert_eq!(ls[0]["format"], "oci-layout");
    assert!(ls[0]["digest"].as_str().unwrap().starts_with("sha256:"));

    // A layer whose bytes do not match its digest is refused, and nothing is left.
    let blobs = layout.join("blobs/sha256");
    for blob in std::fs::read_dir(&blobs).unwrap() {
        let path = blob.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            // Same length, different content: still valid gzip up to the CRC check, or not.
            let mut bad = bytes.clone();
            let mid = bad.len() / 2;
            bad[mid] ^= 0xff;
            std::fs::write(&path, bad).unwrap();
        }
    }
    let out = images.run(&["image", "import", layout.to_str().unwrap(), "--name", "bad"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(images.entries(), ["layout"]);
}

#[test]
fn docker_archives_import_their_layers() {
    let Some(images) = Images::new() else { return };
    let layer1 = Tar::new()
        .dir("./", 0o755, 0, 0)
        .file("./a", b"1")
        .file("./b", b"1")
        .finish();
    let layer2 = Tar::new().file("./.wh.a", b"").file("./c", b"2").finish();
    let id1 = "1".repeat(64);
    let id2 = "2".repeat(64);
    let manifest = serde_json::json!([{
        "Config": format!("{}.json", "3".repeat(64)),
        "RepoTags": ["test:latest"],
        "Layers": [format!("{id1}/layer.tar"), format!("{id2}/layer.tar")]
    }]);
    let mut archive = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        archive.append_data(&mut h, name, data).unwrap();
    };
    add(&format!("{id1}/layer.tar"), &layer1);
    add(&format!("{id2}/layer.tar"), &layer2);
    add(&format!("{}.json", "3".repeat(64)), b"{}");
    add("manifest.json", manifest.to_string().as_bytes());
    let bytes = archive.into_inner().unwrap();
    let out = images.import(&bytes, "docker");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = images.rootfs("docker");
    assert!(!root.join("a").exists());
    assert!(root.join("b").exists() && root.join("c").exists());
    assert_eq!(images.ls_json()[0]["format"], "docker-archive");
    // On standard input it is refused with a hint.
    let mut child = images
        .hutch(&["image", "import", "-", "--name", "piped"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(&bytes);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("docker save"), "{}", stderr(&out));
    // Compressed, it cannot be read by member name: refused, not imported as a root file system.
    let out = images.import(&gzip(&bytes), "gzipped");
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("decompress it"), "{}", stderr(&out));
    assert_eq!(images.entries(), ["docker"]);
}

/// Import `tar`; whatever the outcome, nothing may appear in `canary` and a failure leaves no
/// image and no temporary directory. Returns the exit status and stderr.
fn import_hostile(images: &Images, canary: &Path, tar: &[u8], name: &str) -> (i32, String) {
    let before = images.entries();
    let out = images.import(tar, name);
    let err = stderr(&out);
    let code = out.status.code().unwrap_or(-1);
    let written: Vec<_> = walk(canary);
    assert!(
        written.is_empty(),
        "{name}: wrote outside: {written:?}\n{err}"
    );
    if code != 0 {
        assert_eq!(code, 125, "{name}: {err}");
        assert_eq!(images.entries(), before, "{name}: left something");
    }
    (code, err)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            found.extend(walk(&p));
        }
        found.push(p);
    }
    found
}

#[test]
fn hostile_archives_write_nothing_outside_the_image() {
    let Some(images) = Images::new() else { return };
    // A directory the test user may write to: an escape would succeed if it were possible.
    let canary = images.sb.path().join("canary");
    std::fs::create_dir(&canary).unwrap();
    give(&images, &canary);
    let secret = images.sb.path().join("secret");
    std::fs::write(&secret, "secret").unwrap();
    give(&images, &secret);
    let c = canary.to_str().unwrap();
    let up = format!("../../../../../../../../..{c}");

    // `..` in names and link targets: skipped, with a warning.
    let tar = Tar::new()
        .file(&format!("{up}/dotdot"), b"evil")
        .file("./fine", b"ok")
        .hardlink(
            "./hl",
            &format!("../../../../../../../../..{}", secret.display()),
        )
        .finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "dotdot");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("skipped 2 entries whose name or link target leads out"),
        "{err}"
    );
    assert!(images.rootfs("dotdot").join("fine").exists());
    assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);

    // Absolute names: taken relative to the image.
    let tar = Tar::new().file(&format!("{c}/absolute"), b"evil").finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "absolute");
    assert_eq!(code, 0, "{err}");
    assert!(images
        .rootfs("absolute")
        .join(c.trim_start_matches('/'))
        .join("absolute")
        .exists());

    // A symlink to the outside, then a file through it: resolved inside, where the target does
    // not exist.
    let tar = Tar::new()
        .symlink("./escape", c)
        .file("./escape/through", b"evil")
        .finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "through-symlink");
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("escape"), "{err}");

    // A relative symlink climbing out, then a file through it: lands inside.
    let tar = Tar::new()
        .symlink("./up", "../../../../../../../../..")
        .file(&format!("./up{c}/climbed"), b"evil")
        .finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "climb");
    assert_eq!(code, 0, "{err}");
    assert!(images
        .rootfs("climb")
        .join(c.trim_start_matches('/'))
        .join("climbed")
        .exists());

    // A symlink replaced by a file of the same name: the file replaces the link, the link's
    // target is untouched.
    let tar = Tar::new()
        .symlink("./victim", secret.to_str().unwrap())
        .file("./victim", b"evil")
        .finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "replace");
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret");
    assert!(!images.rootfs("replace").join("victim").is_symlink());

    // A hard link to a file outside by absolute name: resolved inside, where it does not exist.
    let tar = Tar::new()
        .hardlink("./hard", secret.to_str().unwrap())
        .finish();
    let (code, err) = import_hostile(&images, &canary, &tar, "hardlink");
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("hard link"), "{err}");
    assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);
}

#[test]
fn truncated_and_corrupt_archives_fail_and_leave_nothing() {
    let Some(images) = Images::new() else { return };
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .file("./small", b"small")
        .file("./big", &big)
        .file("./last", b"last")
        .finish();
    // Cut inside a file's data, at a member boundary (no end-of-archive marker), in a
    // compressed stream, and plain garbage.
    let boundary = tar.len() - 1024 - 512 - 512;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("mid-file", tar[..tar.len() / 2].to_vec()),
        ("boundary", tar[..boundary].to_vec()),
        ("gzip-cut", gzip(&tar)[..gzip(&tar).len() / 2].to_vec()),
        ("zstd-cut", zstd(&tar)[..zstd(&tar).len() - 10].to_vec()),
        ("xz-cut", xz(&tar)[..xz(&tar).len() - 10].to_vec()),
        ("garbage", vec![0x5a; 4096]),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in cases {
        let out = images.import(&bytes, name);
        assert_eq!(
            out.status.code(),
            Some(125),
            "{name}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(images.entries(), Vec::<String>::new(), "{name}");
    }
}

/// The input is read ahead by a thread of its own: a failure must not wait for that thread,
/// which may be blocked reading a pipe whose writer never closes it.
#[test]
fn a_failing_import_from_an_open_pipe_ends_at_once() {
    let Some(images) = Images::new() else { return };
    let mut child = super::harness::Running(
        images
            .hutch(&["image", "import", "-", "--name", "stuck"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(&[0x5a; 4096]).unwrap();
    stdin.flush().unwrap();
    let ended = super::harness::eventually(10, || matches!(child.0.try_wait(), Ok(Some(_))));
    assert!(ended, "the import waits for the end of its input");
    let status = child.0.wait().unwrap();
    drop(stdin);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(125), "{err}");
    assert!(err.contains("not a tar archive"), "{err}");
    assert_eq!(images.entries(), Vec::<String>::new());
}

/// Start `hutch image import -`, feed it the first half of an archive, and wait until it is
/// writing into its temporary directory.
fn half_imported(
    images: &Images,
    tar: &[u8],
) -> (super::harness::Running, std::process::ChildStdin) {
    let mut child = super::harness::Running(
        images
            .hutch(&["image", "import", "-", "--name", "halted"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    stdin.write_all(&tar[..tar.len() / 2]).unwrap();
    stdin.flush().unwrap();
    let started = super::harness::eventually(10, || {
        images
            .entries()
            .iter()
            .any(|e| e.starts_with(".tmp-import-"))
            && walk(&images.images_dir())
                .iter()
                .any(|p| p.ends_with("rootfs/a"))
    });
    assert!(started, "the import did not start: {:?}", images.entries());
    (child, stdin)
}

#[test]
fn an_interrupted_or_killed_import_leaves_nothing() {
    let Some(images) = Images::new() else { return };
    let big = vec![7u8; 4 << 20];
    let tar = Tar::new()
        .dir("./", 0o755, 0, 0)
        .dir("./d/", 0o755, 1, 1)
        // Owned by a subordinate id in a directory of one: only the namespace can remove it.
        .file("./d/x", b"x")
        .dir("./d/", 0o555, 1, 1)
        .file("./a", b"a")
        .file("./b", &big)
        .finish();

    // SIGINT to hutch: the extraction is stopped, the temporary directory removed.
    let (mut child, stdin) = half_imported(&images, &tar);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.0.wait().unwrap();
    drop(stdin);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert_eq!(images.entries(), Vec::<String>::new());

    // SIGKILL: nothing can clean up at once; a later command removes the leftovers, once the
    // killed processes have let go of the store's lock (a process's command line vanishes
    // from /proc before its descriptors close, so no process list tells exactly when).
    let (mut child, stdin) = half_imported(&images, &tar);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(stdin);
    assert!(super::harness::eventually(5, || {
        images.ls_json() == serde_json::json!([]) && images.entries().is_empty()
    }));
    assert!(super::harness::processes_with("image import - --name halted").is_empty());
}
