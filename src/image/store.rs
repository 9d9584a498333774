//! Where images live: `DATA/images/NAME/` holds `rootfs/` and `image.toml`.
//!
//! An image appears in one rename(2) (RENAME_NOREPLACE) of a finished `.tmp-*` directory, and
//! disappears by one rename to a `.tmp-*` directory before its files are removed, so a listing
//! never shows half an image. Everyone who works on the store holds a shared flock(2) on
//! `images/.lock` for as long as their `.tmp-*` directory exists; whoever gets the lock
//! *exclusively* knows that every `.tmp-*` directory is left over from a killed hutch and removes
//! it. The kernel drops the lock of a killed process, so no pid files are needed.

use std::fs::File;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};

use super::ImageError;

/// Prefix of directories that are not (or no longer) images.
pub const TEMP_PREFIX: &str = ".tmp-";
const LOCK_FILE: &str = ".lock";
pub const META_FILE: &str = "image.toml";
pub const ROOTFS: &str = "rootfs";

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}`: safe as a file name, in a path and on a command line.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub fn check_name(name: &str) -> Result<(), ImageError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ImageError::BadName(name.to_owned()))
    }
}

/// `image.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    pub name: String,
    /// What was imported, as given on the command line (`-` for stdin).
    pub source: String,
    /// `tar`, `tar+gzip`, `tar+xz`, `tar+zstd`, `directory`, `oci-layout`, `docker-archive`.
    pub format: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// Bytes in regular files.
    pub size: u64,
    /// Entries written (files, directories, links).
    pub files: u64,
    /// `sha256:HEX` of the input stream; for an OCI layout, the manifest's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// How ids were mapped while extracting: files belong to the host ids these maps give, so
    /// an environment must use the same maps to see the owners the image was made with.
    pub ids: IdsMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdsMeta {
    /// `ranges` or `single`.
    pub mapping: String,
    /// `[inside, outside, count]` lines.
    pub uid_map: Vec<[u32; 3]>,
    pub gid_map: Vec<[u32; 3]>,
}

impl ImageMeta {
    pub fn read(path: &Path) -> Result<ImageMeta, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("plain data")
    }
}

/// The image store under `DATA/images`.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    pub envs: PathBuf,
}

/// An image's name and its metadata, or why that cannot be read.
pub type Listing = (String, Result<ImageMeta, String>);

/// A shared or exclusive hold on the store's lock; dropped with the file.
pub struct StoreLock(#[allow(dead_code)] File);

impl Store {
    /// The store under hutch's data directory (`images/`, and `envs/` to see which are used).
    pub fn new(data: &Path) -> Store {
        Store {
            dir: data.join("images"),
            envs: data.join("envs"),
        }
    }

    pub fn image(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Create the store (mode 0700: image trees hold other ids' files, which other users of the
    /// host have no business reading through it).
    pub fn create(&self) -> Result<(), ImageError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| ImageError::Store {
                path: self.dir.clone(),
                source,
            })
    }

    fn lock_file(&self) -> Result<File, ImageError> {
        let path = self.dir.join(LOCK_FILE);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| ImageError::Store { path, source })
    }

    /// A shared hold: while it lasts, nobody sweeps this process's `.tmp-*` directories.
    pub fn lock_shared(&self) -> Result<StoreLock, ImageError> {
        let file = self.lock_file()?;
        rustix::fs::flock(&file, FlockOperation::LockShared).map_err(|e| ImageError::Store {
            path: self.dir.join(LOCK_FILE),
            source: e.into(),
        })?;
        Ok(StoreLock(file))
    }

    /// `.tmp-*` directories left by killed imports and removals, if nobody else is working on
    /// the store right now (then they may be theirs, and stay). Holds the exclusive lock in the
    /// returned guard: remove them, then drop it.
    pub fn stale(&self) -> Result<Option<(StoreLock, Vec<PathBuf>)>, ImageError> {
        let file = match self.lock_file() {
            Ok(file) => file,
            Err(ImageError::Store { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(None);
        }
        let leftovers: Vec<PathBuf> = self
            .entries()?
            .into_iter()
            .filter(|(name, _)| name.starts_with(TEMP_PREFIX))
            .map(|(_, path)| path)
            .collect();
        Ok(Some((StoreLock(file), leftovers)))
    }

    /// A fresh `.tmp-PURPOSE-PID-N` directory (mode 0700). Call with the shared lock held.
    pub fn temp_dir(&self, purpose: &str) -> Result<PathBuf, ImageError> {
        for n in 0..1000u32 {
            let path = self
                .dir
                .join(format!("{TEMP_PREFIX}{purpose}-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(ImageError::Store { path, source }),
            }
        }
        Err(ImageError::Store {
            path: self.dir.clone(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        })
    }

    /// Names and paths of everything in the store but the lock file, sorted by name.
    fn entries(&self) -> Result<Vec<(String, PathBuf)>, ImageError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ImageError::Store {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut entries: Vec<(String, PathBuf)> = read
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, _)| name != LOCK_FILE)
            .collect();
        entries.sort();
        Ok(entries)
    }

    /// Every image with its metadata, or why its metadata cannot be read.
    pub fn list(&self) -> Result<Vec<Listing>, ImageError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|(name, path)| valid_name(name) && path.is_dir())
            .map(|(name, path)| {
                let meta = ImageMeta::read(&path.join(META_FILE));
                (name, meta)
            })
            .collect())
    }
}

/// The environment that uses image `name`, if any: environments register their image as the
/// key `image = NAME` in `DATA/envs/ENV/env.toml`, and this scans them. An unreadable
/// definition counts as not using it.
pub fn image_in_use(envs: &Path, name: &str) -> Option<String> {
    let mut dirs: Vec<_> = std::fs::read_dir(envs)
        .ok()?
        .filter_map(|e| e.ok())
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    dirs.into_iter().find_map(|entry| {
        let text = std::fs::read_to_string(entry.path().join("env.toml")).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        (table.get("image")?.as_str()? == name).then(|| entry.file_name().to_string_lossy().into())
    })
}

/// `2024-05-01T12:34:56Z`: RFC 3339 in UTC, from a count of seconds since the epoch
/// (days to a civil date after Howard Hinnant's `civil_from_days`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn now_rfc3339() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// `1.5 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["debian", "a", "Deb-12.5_x", &"a".repeat(63)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "_x",
            "a/b",
            "a b",
            "..",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_566_896), "2024-05-01T12:34:56Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn finds_the_environment_using_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let envs = dir.path();
        assert_eq!(image_in_use(&envs.join("none"), "debian"), None);
        for (env, text) in [
            ("a", "image = \"alpine\"\n"),
            ("b", "image = \"debian\"\nprofile = \"dev\"\n"),
            ("c", "not toml ["),
        ] {
            std::fs::create_dir(envs.join(env)).unwrap();
            std::fs::write(envs.join(env).join("env.toml"), text).unwrap();
        }
        assert_eq!(image_in_use(envs, "debian"), Some("b".into()));
        assert_eq!(image_in_use(envs, "fedora"), None);
    }

    #[test]
    fn temp_dirs_are_swept_only_when_nobody_works() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            dir: dir.path().join("images"),
            envs: dir.path().join("envs"),
        };
        assert!(store.stale().unwrap().is_none(), "no store yet");
        store.create().unwrap();
        let working = store.lock_shared().unwrap();
        let temp = store.temp_dir("import").unwrap();
        assert!(temp
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(".tmp-import-"));
        assert!(store.stale().unwrap().is_none(), "an import holds the lock");
        drop(working);
        let (_guard, stale) = store.stale().unwrap().unwrap();
        assert_eq!(stale, [temp]);
        assert!(store.list().unwrap().is_empty(), "temp dirs are not images");
    }

    #[test]
    fn metadata_round_trips() {
        let meta = ImageMeta {
            name: "debian".into(),
            source: "-".into(),
            format: "tar+zstd".into(),
            created: rfc3339(0),
            size: 10,
            files: 2,
            digest: Some("sha256:00".into()),
            ids: IdsMeta {
                mapping: "ranges".into(),
                uid_map: vec![[0, 1000, 1], [1, 100000, 65536]],
                gid_map: vec![[0, 1000, 1]],
            },
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(META_FILE);
        std::fs::write(&path, meta.to_toml()).unwrap();
        assert_eq!(ImageMeta::read(&path).unwrap(), meta);
    }
}
