//! Where hutch keeps state: images, environment definitions and the live state of running
//! environments (the supervisor's lock, supervisor and PID 1 pids with their start times), all
//! under the data directory (`$XDG_DATA_HOME/hutch`, or `DIR/data` with `--root DIR`).
//!
//! Nothing lives in `$XDG_RUNTIME_DIR`: logind removes it at a user's last logout (unless
//! lingering is on), and an environment running on must still be found, stopped and joined —
//! also from a shell whose `XDG_RUNTIME_DIR` differs. A host reboot leaves no stale state
//! behind that anyone believes: the supervisor's lock dies with it, and pids are only trusted
//! with their start time and the boot id.
//!
//! State is trusted only when it is the user's alone, as ssh's StrictModes trusts
//! `~/.ssh`: every directory on the way is owned by root or the user and writable by no one
//! else (sticky directories such as /tmp excepted), and hutch's own directories and files are
//! owned by the user and not writable by group or others. hutch creates its directories 0700
//! and tightens ones of its own that are more open (older versions made them 0755); a directory
//! or file that another user could have written is refused.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDirs {
    /// `images/`, `envs/`: definitions, layers, homes and live state of environments.
    pub data: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "no place for hutch's state: neither XDG_DATA_HOME nor HOME is set to an absolute path"
    )]
    NoDataDir,
    #[error("refusing state in {}: {problem}", path.display())]
    Insecure { path: PathBuf, problem: String },
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::NoDataDir => Some("set HOME, or pass --root DIR".into()),
            StateError::Insecure { path, .. } => Some(format!(
                "hutch keeps state only where no other user can change it (as ssh's StrictModes \
                 does); make {} yours alone (`chmod go-w`, or `chown` as root), or pass \
                 --root DIR with a directory of your own",
                path.display()
            )),
            StateError::Io { .. } => None,
        }
    }
}

fn absolute(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<PathBuf> {
    env(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

impl StateDirs {
    /// `root` from `--root`, else the XDG directories from `env` (a lookup, for tests).
    pub fn resolve(
        root: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<StateDirs, StateError> {
        Ok(StateDirs {
            data: StateDirs::data_dir(root, &env)?,
        })
    }

    /// The data directory (`--root DIR` gives `DIR/data`).
    pub fn data_dir(
        root: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PathBuf, StateError> {
        if let Some(root) = root {
            let root = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
            return Ok(root.join("data"));
        }
        Ok(absolute(&env, "XDG_DATA_HOME")
            .or_else(|| absolute(&env, "HOME").map(|h| h.join(".local/share")))
            .ok_or(StateError::NoDataDir)?
            .join("hutch"))
    }

    /// The state directories from the environment, made (or found) safe to trust: see
    /// [`secure_data_dir`].
    pub fn from_env(root: Option<&Path>) -> Result<StateDirs, StateError> {
        let dirs = StateDirs::resolve(root, |name| std::env::var(name).ok())?;
        secure_data_dir(&dirs.data)?;
        Ok(dirs)
    }

    pub fn images(&self) -> PathBuf {
        self.data.join("images")
    }

    pub fn envs(&self) -> PathBuf {
        self.data.join("envs")
    }
}

/// The effective uid: who state must belong to.
fn me() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Check the directories leading to `data`, create what is missing of it (0700), and make sure
/// it and its `envs/` and `images/` are the user's alone, tightening their modes to 0700.
pub fn secure_data_dir(data: &Path) -> Result<(), StateError> {
    let existing = data
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    // The real path, so a symbolic link on the way is judged by where it leads; the links
    // themselves live in directories checked below, which no one else can change.
    let real = std::fs::canonicalize(existing).map_err(|source| StateError::Io {
        what: "cannot resolve",
        path: existing.to_owned(),
        source,
    })?;
    // Top down: once a directory is known to be changeable by no one else, what it holds
    // cannot be swapped under the next check.
    let mut chain: Vec<&Path> = real.ancestors().collect();
    chain.reverse();
    let ours = existing == data;
    for (i, dir) in chain.iter().enumerate() {
        let last = i + 1 == chain.len();
        if last && ours {
            break;
        }
        check_ancestor(dir)?;
    }
    let data = match data.strip_prefix(existing) {
        Ok(missing) => real.join(missing),
        Err(_) => real,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&data)
        .map_err(|source| StateError::Io {
            what: "cannot create",
            path: data.clone(),
            source,
        })?;
    for dir in [data.clone(), data.join("envs"), data.join("images")] {
        private_dir(&dir, true)?;
    }
    Ok(())
}

/// A directory on the way to hutch's state: owned by root or the user, and writable by no one
/// else unless it is sticky (as /tmp), where others cannot rename or remove what is not theirs.
fn check_ancestor(dir: &Path) -> Result<(), StateError> {
    let meta = std::fs::metadata(dir).map_err(|source| StateError::Io {
        what: "cannot inspect",
        path: dir.to_owned(),
        source,
    })?;
    let insecure = |problem: String| StateError::Insecure {
        path: dir.to_owned(),
        problem,
    };
    if meta.uid() != 0 && meta.uid() != me() {
        return Err(insecure(format!(
            "it belongs to uid {}, neither you nor root",
            meta.uid()
        )));
    }
    let sticky = meta.mode() & libc::S_ISVTX != 0;
    if meta.mode() & 0o022 != 0 && !sticky {
        return Err(insecure(format!(
            "it is writable by {} (mode {:o})",
            writers(meta.mode()),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

fn writers(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "group and others",
        (true, false) => "its group",
        _ => "others",
    }
}

/// Open (with `create`, make 0700 if missing) one of hutch's own directories, without
/// following a symbolic link, and check the open directory itself: owned by the user and
/// writable by no one else. A directory of ours readable by others is tightened to 0700.
pub fn private_dir(dir: &Path, create: bool) -> Result<File, StateError> {
    if create {
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(StateError::Io {
                    what: "cannot create",
                    path: dir.to_owned(),
                    source: e,
                })
            }
            _ => {}
        }
    }
    // O_PATH: a directory another user owns is judged, not found unreadable.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ELOOP | libc::ENOTDIR) => StateError::Insecure {
                path: dir.to_owned(),
                problem: "it is a symbolic link or not a directory".into(),
            },
            _ => StateError::Io {
                what: "cannot open",
                path: dir.to_owned(),
                source,
            },
        })?;
    let mode = check_owned(&file, dir)?;
    if mode & 0o077 != 0 {
        // Through the descriptor (fchmod does not take an O_PATH one): the inode just checked.
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        std::fs::set_permissions(
            format!("/proc/self/fd/{fd}"),
            std::fs::Permissions::from_mode(0o700),
        )
        .map_err(|source| StateError::Io {
            what: "cannot make private (mode 700)",
            path: dir.to_owned(),
            source,
        })?;
    }
    Ok(file)
}

/// fstat an opened state file or directory: the user's, not writable by group or others.
/// Returns its mode.
pub fn check_owned(file: &File, path: &Path) -> Result<u32, StateError> {
    let meta = file.metadata().map_err(|source| StateError::Io {
        what: "cannot inspect",
        path: path.to_owned(),
        source,
    })?;
    check_owned_metadata(&meta, path)
}

/// [`check_owned`] of what fstat already said.
fn check_owned_metadata(meta: &std::fs::Metadata, path: &Path) -> Result<u32, StateError> {
    let insecure = |problem: String| StateError::Insecure {
        path: path.to_owned(),
        problem,
    };
    if meta.uid() != me() {
        return Err(insecure(format!(
            "it belongs to uid {}, not to you (uid {})",
            meta.uid(),
            me()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(insecure(format!(
            "it is writable by {} (mode {:o})",
            writers(meta.mode()),
            meta.mode() & 0o7777
        )));
    }
    Ok(meta.mode())
}

/// Open one of hutch's state files for reading: never through a symbolic link, a regular file,
/// the user's and writable by no one else. `Ok(None)` when it does not exist.
///
/// The file is judged before it is read: opened with O_PATH (which needs no read permission,
/// so a file another user owns is refused as such, not as unreadable), checked with fstat,
/// then reopened for reading through that descriptor, which names the same inode.
pub fn open_private_file(path: &Path) -> Result<Option<File>, StateError> {
    let handle = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                what: "cannot open",
                path: path.to_owned(),
                source,
            })
        }
    };
    let meta = handle.metadata().map_err(|source| StateError::Io {
        what: "cannot inspect",
        path: path.to_owned(),
        source,
    })?;
    let kind = meta.mode() & libc::S_IFMT;
    let problem = match kind {
        libc::S_IFREG => None,
        libc::S_IFLNK => Some("it is a symbolic link"),
        _ => Some("it is not a regular file"),
    };
    if let Some(problem) = problem {
        return Err(StateError::Insecure {
            path: path.to_owned(),
            problem: problem.into(),
        });
    }
    check_owned_metadata(&meta, path)?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&handle);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{fd}"))
        .map_err(|source| StateError::Io {
            what: "cannot open",
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(file))
}

/// Read one of hutch's small state files (see [`open_private_file`]), at most `limit` bytes.
pub fn read_private_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, StateError> {
    use std::io::Read;
    let Some(file) = open_private_file(path)? else {
        return Ok(None);
    };
    // Room for the whole of a usual file: one read(2), not std's small probing reads.
    let mut bytes = Vec::with_capacity(4096);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| StateError::Io {
            what: "cannot read",
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_flag_wins_then_xdg_then_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let dirs = StateDirs::resolve(Some(Path::new("/s")), env(&[])).unwrap();
        assert_eq!(
            dirs,
            StateDirs {
                data: "/s/data".into()
            }
        );
        let dirs = StateDirs::resolve(
            None,
            env(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/1")]),
        )
        .unwrap();
        assert_eq!(dirs.data, Path::new("/h/.local/share/hutch"));
        let dirs = StateDirs::resolve(
            None,
            env(&[
                ("XDG_DATA_HOME", "/d"),
                ("HOME", "/h"),
                ("XDG_RUNTIME_DIR", "/r"),
            ]),
        )
        .unwrap();
        assert_eq!(dirs.data, Path::new("/d/hutch"));
        // No XDG_RUNTIME_DIR needed: nothing lives there.
        assert_eq!(
            StateDirs::resolve(None, env(&[("HOME", "/h")]))
                .unwrap()
                .data,
            Path::new("/h/.local/share/hutch")
        );
        assert!(matches!(
            StateDirs::resolve(None, env(&[("HOME", "rel")])),
            Err(StateError::NoDataDir)
        ));
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn creates_private_dirs_and_tightens_open_ones() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o755);
        let data = tmp.path().join("share/hutch");
        secure_data_dir(&data).unwrap();
        for dir in [data.clone(), data.join("envs"), data.join("images")] {
            assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        }
        // What an older hutch made 0755 is ours: tightened, not refused.
        chmod(&data, 0o755);
        chmod(&data.join("envs"), 0o755);
        secure_data_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("envs")), 0o700);
    }

    #[test]
    fn refuses_directories_others_can_write() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        chmod(&root, 0o775);
        let err = secure_data_dir(&root.join("data")).unwrap_err();
        assert!(
            matches!(&err, StateError::Insecure { path, .. } if *path == root),
            "{err:?}"
        );
        assert!(err.to_string().contains("writable by its group"), "{err}");
        assert!(!root.join("data").exists(), "nothing created under it");
        // hutch's own directory, writable by others: refused, not tightened.
        chmod(&root, 0o755);
        std::fs::create_dir(root.join("data")).unwrap();
        chmod(&root.join("data"), 0o757);
        let err = secure_data_dir(&root.join("data")).unwrap_err();
        assert!(err.to_string().contains("writable by others"), "{err}");
        // Sticky directories such as /tmp are fine on the way.
        chmod(&root, 0o1777);
        chmod(&root.join("data"), 0o700);
        secure_data_dir(&root.join("data")).unwrap();
    }

    #[test]
    fn state_files_are_opened_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::write(&real, "{}").unwrap();
        chmod(&real, 0o600);
        assert_eq!(
            read_private_file(&real, 10).unwrap().unwrap(),
            b"{}".to_vec()
        );
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = read_private_file(&link, 10).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        chmod(&real, 0o666);
        let err = read_private_file(&real, 10).unwrap_err();
        assert!(
            err.to_string().contains("writable by group and others"),
            "{err}"
        );
        assert!(read_private_file(&tmp.path().join("none"), 10)
            .unwrap()
            .is_none());
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_private_file(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
