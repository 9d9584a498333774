//! Host directories a sandbox must never be handed writable by accident.
//!
//! The default profile makes the current directory writable. Run from the wrong place, that
//! would give the sandbox hutch's own configuration (a planted profile is trusted by every later
//! run), its state and runtime sockets, or the user's credentials. Before a profile makes the
//! current directory writable, [`Lookup::conflict`] checks it against [`ProtectedDir`]s. A
//! directory that is, holds or lies inside hutch's state is bound read-only instead. One that
//! is, holds or lies inside the runtime directory, `~/.config` or a credential store is not
//! bound at all, as one that holds the home directory (see `spec`): read-only is not enough
//! there, since the sandbox could still read the keys and connect to the agent sockets
//! (connecting to a unix socket needs no write access to its file system). An explicit
//! `--bind DIR` or `--ro-bind DIR` is never second-guessed.
//!
//! Paths are compared canonically (symlinks resolved, so `/home -> /data/home` does not hide
//! anything) and by device and inode along both ancestries, so that a second path to the same
//! directory (a bind mount elsewhere) is recognised too.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// A directory to protect, what it is (for the warning), and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtectedDir {
    pub path: PathBuf,
    pub what: &'static str,
    /// Not bound at all, rather than read-only: it holds secrets or sockets.
    pub hide: bool,
}

/// Credential and secret stores under the home directory. `~/.config` itself is on the list:
/// it holds hutch's profiles by default and most tools' tokens (gh, gcloud, …).
const CREDENTIAL_DIRS: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".config",
    ".local/share/keyrings",
    ".password-store",
    ".pki",
];

/// The directories to protect for a user with `home`, whose environment `var` looks up.
pub(crate) fn protected_dirs(
    home: &Path,
    var: impl Fn(&str) -> Option<PathBuf>,
) -> Vec<ProtectedDir> {
    let absolute = |name: &str| var(name).filter(|p| p.is_absolute());
    let config = absolute("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
    let data = absolute("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share"));
    let mut dirs = vec![
        ProtectedDir {
            path: config.join("hutch"),
            what: "hutch's configuration",
            hide: false,
        },
        ProtectedDir {
            path: data.join("hutch"),
            what: "hutch's state",
            hide: false,
        },
    ];
    if let Some(runtime) = absolute("XDG_RUNTIME_DIR") {
        dirs.push(ProtectedDir {
            path: runtime,
            what: "your runtime directory (hutch's live state, agent sockets)",
            hide: true,
        });
    }
    dirs.push(ProtectedDir {
        path: config,
        what: "your configuration directory (tokens of many tools)",
        hide: true,
    });
    dirs.extend(CREDENTIAL_DIRS.iter().map(|dir| ProtectedDir {
        path: home.join(dir),
        what: "a credential directory",
        hide: true,
    }));
    dirs
}

/// How a directory stands to a protected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Is,
    Holds,
    LiesInside,
}

impl Relation {
    pub fn verb(self) -> &'static str {
        match self {
            Relation::Is => "is",
            Relation::Holds => "holds",
            Relation::LiesInside => "lies inside",
        }
    }
}

/// Device and inode of what `path` names, following symlinks.
pub(crate) type FileId = (u64, u64);

pub(crate) fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Where device and inode numbers come from: [`HostIds`], or any function of a path (a seam
/// for tests).
pub(crate) trait Ids {
    fn id(&self, path: &Path) -> Option<FileId>;

    /// Whether these are the host's own, so that what the resolver's lstat(2) calls saw on
    /// the way can answer instead of another stat(2).
    fn are_the_hosts(&self) -> bool {
        false
    }
}

impl<F: Fn(&Path) -> Option<FileId>> Ids for F {
    fn id(&self, path: &Path) -> Option<FileId> {
        self(path)
    }
}

/// The host's device and inode numbers ([`file_id`]).
pub(crate) struct HostIds;

impl Ids for HostIds {
    fn id(&self, path: &Path) -> Option<FileId> {
        file_id(path)
    }

    fn are_the_hosts(&self) -> bool {
        true
    }
}

/// Resolves symlinks one path component at a time (lstat(2) on each, readlink(2) on the
/// symlinks), remembering every prefix: the protected directories share most of theirs (the
/// home directory and above), so each is looked at once. What does not exist is kept as
/// written: a directory that does not exist yet can still be created through a writable
/// parent. Nothing below a missing directory is looked at.
#[derive(Default)]
struct Resolver {
    known: ByPath<PathBuf>,
    /// What lstat(2) said of the canonical paths it was asked about: the device and inode of
    /// what is not a symlink, `None` for what does not exist.
    seen: ByPath<Option<FileId>>,
}

/// A memo keyed by paths as they are spelled, compared byte for byte. `Path`'s own `Hash` and
/// `Ord` parse both paths into components at every comparison, which cost a start-up more
/// than the lstat(2) calls the memo saves (and a `HashMap`'s seed a getrandom(2) call). A path
/// spelled two ways is only looked at twice.
type ByPath<V> = RefCell<BTreeMap<OsString, V>>;

/// Symlinks followed in one resolution before giving up (as the kernel's MAXSYMLINKS).
const MAX_SYMLINKS: u32 = 40;

impl Resolver {
    fn canonical(&self, path: &Path) -> PathBuf {
        self.resolve(path, &mut 0)
    }

    /// What lstat(2) said of the canonical path `path`, if it was asked.
    fn seen(&self, path: &Path) -> Option<Option<FileId>> {
        self.seen.borrow().get(path.as_os_str()).copied()
    }

    fn resolve(&self, path: &Path, followed: &mut u32) -> PathBuf {
        if let Some(known) = self.known.borrow().get(path.as_os_str()) {
            return known.clone();
        }
        let parent = path.parent().map(|p| self.resolve(p, followed));
        let resolved = match (path.components().next_back(), parent) {
            (Some(Component::Normal(name)), Some(parent)) => {
                let candidate = parent.join(name);
                if self.seen(&parent) == Some(None) {
                    // Below a missing directory: missing too.
                    self.seen
                        .borrow_mut()
                        .insert(candidate.clone().into(), None);
                    candidate
                } else {
                    match std::fs::symlink_metadata(&candidate) {
                        Ok(meta) if meta.file_type().is_symlink() => {
                            match std::fs::read_link(&candidate) {
                                Ok(target) if *followed < MAX_SYMLINKS => {
                                    *followed += 1;
                                    self.resolve(&parent.join(target), followed)
                                }
                                _ => candidate,
                            }
                        }
                        Ok(meta) => {
                            self.seen
                                .borrow_mut()
                                .insert(candidate.clone().into(), Some((meta.dev(), meta.ino())));
                            candidate
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            self.seen
                                .borrow_mut()
                                .insert(candidate.clone().into(), None);
                            candidate
                        }
                        Err(_) => candidate,
                    }
                }
            }
            (Some(Component::ParentDir), Some(parent)) => {
                parent.parent().map_or(parent.clone(), Path::to_owned)
            }
            (Some(Component::CurDir), Some(parent)) => parent,
            // The root, or a relative path's first component.
            _ => path.to_owned(),
        };
        self.known
            .borrow_mut()
            .insert(path.as_os_str().to_owned(), resolved.clone());
        resolved
    }
}

/// Questions about protected directories, answered through one [`Resolver`] and one memo of
/// device and inode numbers: however many are asked, each path is looked at once.
pub(crate) struct Lookup<'a, I: Ids> {
    resolver: Resolver,
    ids: &'a I,
    looked_up: ByPath<Option<FileId>>,
}

impl<'a, I: Ids> Lookup<'a, I> {
    pub fn new(ids: &'a I) -> Lookup<'a, I> {
        Lookup {
            resolver: Resolver::default(),
            ids,
            looked_up: RefCell::default(),
        }
    }

    /// `ids` for a canonical path: from what the resolver saw where they are the host's, with
    /// a stat(2) otherwise.
    fn id(&self, path: &Path) -> Option<FileId> {
        if self.ids.are_the_hosts() {
            if let Some(seen) = self.resolver.seen(path) {
                return seen;
            }
        }
        *self
            .looked_up
            .borrow_mut()
            .entry(path.as_os_str().to_owned())
            .or_insert_with(|| self.ids.id(path))
    }

    /// How `dir` stands to `protected`, if it is, holds or lies inside it.
    pub fn relation(&self, dir: &Path, protected: &Path) -> Option<Relation> {
        let dir = self.resolver.canonical(dir);
        let protected = self.resolver.canonical(protected);
        related(&dir, &protected, &|path: &Path| self.id(path))
    }

    /// The protected directory `dir` is, holds or lies inside that asks for the most
    /// protection: the first to be hidden, else the first.
    pub fn conflict<'p>(
        &self,
        dir: &Path,
        protected: &'p [ProtectedDir],
    ) -> Option<(Relation, &'p ProtectedDir)> {
        let dir = self.resolver.canonical(dir);
        let canonical: Vec<PathBuf> = protected
            .iter()
            .map(|p| self.resolver.canonical(&p.path))
            .collect();
        let id = |path: &Path| self.id(path);
        let mut found = None;
        for (p, path) in protected.iter().zip(&canonical) {
            if let Some(relation) = related(&dir, path, &id) {
                if p.hide {
                    return Some((relation, p));
                }
                found = found.or(Some((relation, p)));
            }
        }
        found
    }
}

/// The ids of `path` and of every directory above it that exists.
fn ancestry(path: &Path, id: &impl Fn(&Path) -> Option<FileId>) -> Vec<FileId> {
    path.ancestors().filter_map(id).collect()
}

/// How `dir` stands to `protected`, if it is, holds or lies inside it. `ids` looks up device
/// and inode ([`HostIds`]; a seam for tests). One question's [`Lookup`].
#[cfg(test)]
fn relation(dir: &Path, protected: &Path, ids: &impl Ids) -> Option<Relation> {
    Lookup::new(ids).relation(dir, protected)
}

/// [`Lookup::relation`] for canonical paths.
fn related(
    dir: &Path,
    protected: &Path,
    id: &impl Fn(&Path) -> Option<FileId>,
) -> Option<Relation> {
    if dir == protected {
        return Some(Relation::Is);
    }
    if protected.starts_with(dir) {
        return Some(Relation::Holds);
    }
    if dir.starts_with(protected) {
        return Some(Relation::LiesInside);
    }
    // Another path to the same directories: compare what the paths name.
    let dir_id = id(dir)?;
    match id(protected) {
        Some(protected_id) if protected_id == dir_id => return Some(Relation::Is),
        Some(protected_id) if ancestry(dir, id).contains(&protected_id) => {
            return Some(Relation::LiesInside)
        }
        _ => {}
    }
    ancestry(protected, id)
        .contains(&dir_id)
        .then_some(Relation::Holds)
}

/// The protected directory `dir` is, holds or lies inside that asks for the most protection:
/// the first to be hidden, else the first.
#[cfg(test)]
fn conflict<'a>(
    dir: &Path,
    protected: &'a [ProtectedDir],
    ids: &impl Ids,
) -> Option<(Relation, &'a ProtectedDir)> {
    Lookup::new(ids).conflict(dir, protected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(home: &Path) -> Vec<ProtectedDir> {
        protected_dirs(home, |name| match name {
            "XDG_RUNTIME_DIR" => Some(PathBuf::from("/run/user/1000")),
            _ => None,
        })
    }

    #[test]
    fn the_list_names_hutchs_own_directories_and_credentials() {
        let list = dirs(Path::new("/home/ada"));
        let paths: Vec<&Path> = list.iter().map(|d| d.path.as_path()).collect();
        for expected in [
            "/home/ada/.config/hutch",
            "/home/ada/.local/share/hutch",
            "/run/user/1000",
            "/home/ada/.config",
            "/home/ada/.ssh",
            "/home/ada/.gnupg",
            "/home/ada/.local/share/keyrings",
        ] {
            assert!(paths.contains(&Path::new(expected)), "{expected}");
        }
        let custom = protected_dirs(Path::new("/home/ada"), |name| {
            (name == "XDG_CONFIG_HOME").then(|| PathBuf::from("/cfg"))
        });
        assert_eq!(custom[0].path, Path::new("/cfg/hutch"));
        assert!(custom.iter().any(|d| d.path == Path::new("/cfg")));
    }

    #[test]
    fn relations_by_path() {
        let no_ids = |_: &Path| None;
        let at =
            |dir: &str, protected: &str| relation(Path::new(dir), Path::new(protected), &no_ids);
        assert_eq!(
            at("/nonexistent/a/.ssh", "/nonexistent/a/.ssh"),
            Some(Relation::Is)
        );
        assert_eq!(
            at("/nonexistent/a", "/nonexistent/a/.ssh"),
            Some(Relation::Holds)
        );
        assert_eq!(
            at("/nonexistent/a/.ssh/keys", "/nonexistent/a/.ssh"),
            Some(Relation::LiesInside)
        );
        assert_eq!(at("/nonexistent/a/.sshx", "/nonexistent/a/.ssh"), None);
        assert_eq!(at("/nonexistent/a/src", "/nonexistent/a/.ssh"), None);
    }

    #[test]
    fn a_symlinked_path_is_seen_through() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("data/home");
        std::fs::create_dir_all(real.join(".ssh")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("data"), tmp.path().join("home")).unwrap();
        let through_link = tmp.path().join("home/home/.ssh");
        assert_eq!(
            relation(&real.join(".ssh"), &through_link, &file_id),
            Some(Relation::Is)
        );
        assert_eq!(
            relation(&real, &through_link, &file_id),
            Some(Relation::Holds)
        );
    }

    #[test]
    fn what_the_resolver_saw_gives_the_same_answers_as_stat() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("data/home/ada/dotfiles/config/hutch")).unwrap();
        std::fs::create_dir_all(root.join("data/home/ada/.ssh/keys")).unwrap();
        std::fs::create_dir_all(root.join("work/src")).unwrap();
        std::os::unix::fs::symlink("data/home", root.join("home")).unwrap();
        std::os::unix::fs::symlink("dotfiles/config", root.join("data/home/ada/.config")).unwrap();
        std::os::unix::fs::symlink(root.join("data/home/ada/.ssh"), root.join("work/ssh")).unwrap();
        let home = root.join("home/ada");
        let list = protected_dirs(&home, |_| None);
        for dir in [
            "home/ada",
            "home/ada/.ssh",
            "home/ada/.ssh/keys",
            "work/ssh/keys",
            "data/home/ada/dotfiles",
            "home/ada/.local/share",
            "home",
            "work/src",
            "missing/dir",
        ] {
            let dir = root.join(dir);
            let by_stat = conflict(&dir, &list, &file_id).map(|(r, p)| (r, p.path.clone()));
            let seen = conflict(&dir, &list, &HostIds).map(|(r, p)| (r, p.path.clone()));
            assert_eq!(seen, by_stat, "{}", dir.display());
            assert_eq!(
                relation(&dir, &home, &HostIds),
                relation(&dir, &home, &file_id),
                "{}",
                dir.display()
            );
        }
        assert_eq!(
            conflict(&root.join("work/ssh/keys"), &list, &HostIds).map(|(r, p)| (r, p.hide)),
            Some((Relation::LiesInside, true))
        );
        assert_eq!(
            conflict(&root.join("data/home/ada/dotfiles"), &list, &HostIds).map(|(r, _)| r),
            Some(Relation::Holds)
        );
    }

    #[test]
    fn the_resolver_agrees_with_the_kernel() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("data/home/ada/dotfiles/config")).unwrap();
        std::os::unix::fs::symlink("data/home", root.join("home")).unwrap();
        std::os::unix::fs::symlink("dotfiles/config", root.join("data/home/ada/.config")).unwrap();
        std::os::unix::fs::symlink(root.join("home/ada/./dotfiles/.."), root.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let resolver = Resolver::default();
        for path in [
            "home/ada/.config",
            "abs/.config/hutch",
            "home/../home/ada",
            "abs",
        ] {
            let path = root.join(path);
            let expected = match std::fs::canonicalize(&path) {
                Ok(real) => real,
                // Missing: the existing part resolved, the rest as written.
                Err(_) => std::fs::canonicalize(path.parent().unwrap())
                    .unwrap()
                    .join(path.file_name().unwrap()),
            };
            assert_eq!(resolver.canonical(&path), expected, "{}", path.display());
        }
        // A loop ends.
        let _ = resolver.canonical(&root.join("loop/x"));
    }

    #[test]
    fn another_path_to_the_same_directory_is_found_by_inode() {
        // A bind mount cannot be made here; a lookup that maps an alias to the same ids can.
        let ids = |path: &Path| -> Option<FileId> {
            let path = path.to_str()?;
            let inode = match path.strip_prefix("/alias").unwrap_or(path) {
                "" | "/" => 1,
                "/home" => 2,
                "/home/ada" => 3,
                "/home/ada/.ssh" => 4,
                "/home/ada/.ssh/keys" => 5,
                _ => 99,
            };
            Some((7, inode))
        };
        let at = |dir: &str, protected: &str| relation(Path::new(dir), Path::new(protected), &ids);
        assert_eq!(
            at("/alias/home/ada/.ssh", "/home/ada/.ssh"),
            Some(Relation::Is)
        );
        assert_eq!(
            at("/alias/home/ada/.ssh/keys", "/home/ada/.ssh"),
            Some(Relation::LiesInside)
        );
        assert_eq!(
            at("/alias/home/ada", "/home/ada/.ssh"),
            Some(Relation::Holds)
        );
        assert_eq!(at("/alias/home/ada/src", "/home/ada/.ssh"), None);
    }

    #[test]
    fn the_first_conflict_names_the_protected_directory() {
        let list = dirs(Path::new("/nonexistent/ada"));
        let no_ids = |_: &Path| None;
        // ~/.config holds hutch's configuration, and is itself hidden: the stronger wins.
        let (relation, dir) =
            conflict(Path::new("/nonexistent/ada/.config"), &list, &no_ids).unwrap();
        assert_eq!((relation, dir.hide), (Relation::Is, true));
        let (relation, dir) =
            conflict(Path::new("/nonexistent/ada/.local/share"), &list, &no_ids).unwrap();
        assert_eq!(relation, Relation::Holds);
        assert_eq!(
            dir.path,
            Path::new("/nonexistent/ada/.local/share/keyrings")
        );
        let (relation, dir) = conflict(
            Path::new("/nonexistent/ada/.local/share/hutch/images"),
            &list,
            &no_ids,
        )
        .unwrap();
        assert_eq!(
            (relation, dir.what, dir.hide),
            (Relation::LiesInside, "hutch's state", false)
        );
        assert!(conflict(Path::new("/nonexistent/ada/src"), &list, &no_ids).is_none());
        let (relation, dir) = conflict(Path::new("/run/user"), &list, &no_ids).unwrap();
        assert_eq!(
            (relation, dir.path.as_path()),
            (Relation::Holds, Path::new("/run/user/1000"))
        );
    }
}
