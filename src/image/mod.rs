//! Images: read-only root file systems that environments share as their overlay's lower layer.
//! `hutch image import SRC [--name N]`, `hutch image ls [--json]`, `hutch image rm NAME`.
//!
//! An import reads the source (`source`: tarball, stdin, directory, OCI layout, docker-archive),
//! and writes the files (`read` → `extract`) as root of a user namespace that maps the user's
//! subordinate ids (`crate::userns`, `crate::subid`), so that owners, modes, setuid bits, links
//! and extended attributes survive; every name is resolved inside the image. The work happens in
//! a `.tmp-*` directory of the store that becomes the image by one rename, so a failure, Ctrl-C
//! or SIGKILL never leaves a half image (`store`). Files owned by subordinate ids cannot be
//! removed by the user from outside, so removal, too, runs in the user namespace.

pub mod digest;
pub mod extract;
pub mod feed;
pub mod progress;
pub mod read;
pub mod source;
pub mod store;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::state::{StateDirs, StateError};
use crate::subid::{self, HostIds, IdPlan};
use crate::userns::{self, Interruptible, UsernsError};
use extract::{Extractor, Summary};
use progress::{Mode, Progress};
use source::Source;
use store::{check_name, human_size, IdsMeta, ImageMeta, Store, META_FILE, ROOTFS};

pub use store::image_in_use;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image name {0:?}")]
    BadName(String),
    #[error("an image name is needed when importing from standard input")]
    NameRequired,
    #[error("image {0:?} exists already")]
    Exists(String),
    #[error("no image named {0:?}")]
    NotFound(String),
    #[error("image {image:?} is used by environment {env:?}")]
    InUse { image: String, env: String },
    #[error("cannot read {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    Layout { path: PathBuf, why: String },
    #[error("no place for images")]
    State(#[source] StateError),
    #[error("cannot use the image store at {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot import {name}")]
    Namespace {
        name: String,
        #[source]
        source: UsernsError,
    },
    /// The extraction failed; rendered where it happened.
    #[error("cannot import {name}: {message}")]
    Import {
        name: String,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot remove {}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: UsernsError,
    },
}

impl ImageError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ImageError::BadName(_) => Some(
                "names are 1 to 63 letters, digits, `_`, `.` and `-`, starting with a letter or \
                 digit; choose one with --name"
                    .into(),
            ),
            ImageError::NameRequired => Some("add --name NAME".into()),
            ImageError::Exists(name) => Some(format!(
                "remove it first (`hutch image rm {name}`), or choose another --name"
            )),
            ImageError::NotFound(_) => Some("`hutch image ls` lists the images".into()),
            ImageError::InUse { env, .. } => {
                Some(format!("remove the environment first: `hutch rm {env}`"))
            }
            ImageError::State(e) => e.hint(),
            ImageError::Namespace { source, .. } | ImageError::Remove { source, .. } => {
                source.hint()
            }
            ImageError::Import { hint, .. } => hint.clone(),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> u8 {
        match self {
            ImageError::Namespace {
                source: UsernsError::Interrupted(signal),
                ..
            } => 128 + *signal as u8,
            _ => crate::error::HUTCH_FAILED,
        }
    }
}

/// The image store for `--root` (or the XDG data directory).
pub fn store(root: Option<&Path>) -> Result<Store, ImageError> {
    // Made (or found) the user's alone before anything in it is trusted.
    let data =
        StateDirs::data_dir(root, |name| std::env::var(name).ok()).map_err(ImageError::State)?;
    crate::state::secure_data_dir(&data).map_err(ImageError::State)?;
    Ok(Store::new(&data))
}

/// The name an import gets without --name: the file or directory name without its tar and
/// compression suffixes.
pub fn default_name(src: &str) -> Result<String, ImageError> {
    if src == "-" {
        return Err(ImageError::NameRequired);
    }
    let base = Path::new(src.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffixes = [
        ".tar.gz",
        ".tgz",
        ".tar.xz",
        ".txz",
        ".tar.zst",
        ".tar.zstd",
        ".tzst",
        ".tar",
    ];
    let stem = suffixes
        .iter()
        .find_map(|s| base.strip_suffix(s))
        .unwrap_or(&base);
    Ok(stem.to_owned())
}

/// `hutch image import`.
pub fn import(store: &Store, src: &str, name: Option<&str>, quiet: bool) -> Result<u8, ImageError> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(src)?,
    };
    check_name(&name)?;
    let source = source::classify(src)?;
    let decision = subid::decide(&HostIds::current());
    if !quiet {
        for warning in &decision.warnings {
            crate::output::note!("hutch: warning: {warning}");
        }
    }
    store.create()?;
    sweep(store, Some(&decision.plan));
    let _working = store.lock_shared()?;
    if store.image(&name).exists() {
        return Err(ImageError::Exists(name));
    }
    let temp = store.temp_dir("import")?;
    let result = import_into(store, &temp, &name, src, &source, &decision.plan, quiet);
    if result.is_err() {
        if let Err(e) = remove_tree(&decision.plan, &temp) {
            crate::output::note!(
                "hutch: warning: {}",
                crate::error::render(&e, e.hint().as_deref())
            );
        }
    }
    let (meta, summary) = result?;
    if !quiet {
        for warning in summary_warnings(&summary, &decision.plan) {
            crate::output::note!("hutch: warning: {warning}");
        }
        crate::output::note!(
            "hutch: imported {}: {} entries, {} ({})",
            meta.name,
            meta.files,
            human_size(meta.size),
            meta.format
        );
    }
    Ok(0)
}

fn import_into(
    store: &Store,
    temp: &Path,
    name: &str,
    src: &str,
    source: &Source,
    plan: &IdPlan,
    quiet: bool,
) -> Result<(ImageMeta, Summary), ImageError> {
    let total = match source {
        Source::Tarball(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        Source::Layers { layers, .. } => Some(layers.iter().map(|l| l.size).sum()),
        Source::Stdin | Source::Directory(_) => None,
    };
    let exclude = std::fs::metadata(&store.dir)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let mode = Mode::detect(quiet);
    if mode == Mode::Lines {
        crate::output::note!("hutch: importing {name} from {src}");
    }
    let rootfs = temp.join(ROOTFS);
    let (uids, gids) = (plan.mapped_uids(), plan.mapped_gids());
    let (summary, input) = userns::run(plan, Interruptible::Yes, || {
        let progress = Progress::new(mode, total, name);
        let result = (|| -> Result<_, read::ReadError> {
            let mut x = Extractor::create(&rootfs, uids, gids)?;
            let input = read::read(source, &mut x, &progress, exclude)?;
            Ok((x.finish()?, input))
        })();
        progress.finish();
        result.map_err(|e| crate::error::render(&e, e.hint().as_deref()))
    })
    .map_err(|source| match source {
        UsernsError::Inside(rendered) => {
            let (message, hint) = match rendered.split_once("\nhint: ") {
                Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
                None => (rendered, None),
            };
            ImageError::Import {
                name: name.to_owned(),
                message,
                hint,
            }
        }
        source => {
            if mode == Mode::Bar {
                // The extracting process died mid-draw: clear its half-drawn bar.
                crate::output::stderr_text("\r\x1b[2K");
            }
            ImageError::Namespace {
                name: name.to_owned(),
                source,
            }
        }
    })?;
    let maps = |plan: &IdPlan, uid: bool| -> Vec<[u32; 3]> {
        match plan {
            IdPlan::Ranges {
                uid_map, gid_map, ..
            } => (if uid { uid_map } else { gid_map })
                .entries
                .iter()
                .map(|e| [e.inside, e.outside, e.count])
                .collect(),
            IdPlan::Single { uid: u, gid: g } => vec![[0, if uid { *u } else { *g }, 1]],
        }
    };
    let meta = ImageMeta {
        name: name.to_owned(),
        source: src.to_owned(),
        format: input.format,
        created: store::now_rfc3339(),
        size: summary.bytes,
        files: summary.entries,
        digest: input.digest,
        ids: IdsMeta {
            mapping: match plan {
                IdPlan::Ranges { .. } => "ranges",
                IdPlan::Single { .. } => "single",
            }
            .into(),
            uid_map: maps(plan, true),
            gid_map: maps(plan, false),
        },
    };
    let meta_path = temp.join(META_FILE);
    std::fs::write(&meta_path, meta.to_toml()).map_err(|source| ImageError::Store {
        path: meta_path,
        source,
    })?;
    let target = store.image(name);
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        temp,
        rustix::fs::CWD,
        &target,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(|e| match e {
        rustix::io::Errno::EXIST | rustix::io::Errno::NOTEMPTY => {
            ImageError::Exists(name.to_owned())
        }
        e => ImageError::Store {
            path: target.clone(),
            source: e.into(),
        },
    })?;
    Ok((meta, summary))
}

/// What the import left out or changed, one sentence each.
pub fn summary_warnings(s: &Summary, plan: &IdPlan) -> Vec<String> {
    let mut out = Vec::new();
    if s.devices > 0 {
        out.push(format!(
            "skipped {} device node{}: they cannot be made without privileges (an environment \
             gets its own /dev)",
            s.devices,
            plural(s.devices)
        ));
    }
    if s.dotdot > 0 {
        out.push(format!(
            "skipped {} entr{} whose name or link target leads out of the image with `..` \
             (first: {})",
            s.dotdot,
            if s.dotdot == 1 { "y" } else { "ies" },
            s.dotdot_example.as_deref().unwrap_or("?")
        ));
    }
    if s.unmapped_owners > 0 && matches!(plan, IdPlan::Ranges { .. }) {
        out.push(format!(
            "{} entr{} belonged to ids beyond your subordinate range and belong to root now",
            s.unmapped_owners,
            if s.unmapped_owners == 1 { "y" } else { "ies" },
        ));
    }
    if s.xattrs_failed > 0 {
        out.push(format!(
            "{} extended attribute{} could not be set in a user namespace (first: {})",
            s.xattrs_failed,
            plural(s.xattrs_failed),
            s.xattr_example.as_deref().unwrap_or("?")
        ));
    }
    if s.unsupported > 0 {
        out.push(format!(
            "skipped {} entr{} of a kind a root file system has no use for (sockets, unknown \
             tar entry types)",
            s.unsupported,
            if s.unsupported == 1 { "y" } else { "ies" },
        ));
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Remove a tree that may hold files of subordinate ids: as the user if that is enough, else as
/// root of the user namespace.
pub(crate) fn remove_tree(plan: &IdPlan, path: &Path) -> Result<(), ImageError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    userns::run(plan, Interruptible::No, || {
        std::fs::remove_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))
    })
    .map_err(|source| ImageError::Remove {
        path: path.to_owned(),
        source,
    })
}

/// Remove what killed imports and removals left, when nobody else is at work.
fn sweep(store: &Store, plan: Option<&IdPlan>) {
    let Ok(Some((_exclusive, leftovers))) = store.stale() else {
        return;
    };
    if leftovers.is_empty() {
        return;
    }
    let decided;
    let plan = match plan {
        Some(plan) => plan,
        None => {
            decided = subid::decide(&HostIds::current()).plan;
            &decided
        }
    };
    for path in leftovers {
        tracing::debug!(path = %path.display(), "removing a leftover of an interrupted import");
        if let Err(e) = remove_tree(plan, &path) {
            crate::output::note!(
                "hutch: warning: cannot remove the leftover {}: {}",
                path.display(),
                crate::error::render(&e, e.hint().as_deref())
            );
        }
    }
}

#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    size: u64,
    created: &'a str,
    source: &'a str,
    format: &'a str,
    digest: Option<&'a str>,
    files: u64,
}

/// `hutch image ls`: the listing to print.
pub fn list(store: &Store, json: bool, quiet: bool) -> Result<String, ImageError> {
    sweep(store, None);
    let mut images = Vec::new();
    for (name, meta) in store.list()? {
        match meta {
            Ok(meta) => images.push(meta),
            Err(why) if !quiet => crate::output::note!("hutch: warning: image {name}: {why}"),
            Err(_) => {}
        }
    }
    use std::fmt::Write as _;
    let mut out = String::new();
    if json {
        let listed: Vec<Listed> = images
            .iter()
            .map(|m| Listed {
                name: &m.name,
                size: m.size,
                created: &m.created,
                source: &m.source,
                format: &m.format,
                digest: m.digest.as_deref(),
                files: m.files,
            })
            .collect();
        out = serde_json::to_string_pretty(&listed).expect("plain data");
        out.push('\n');
    } else {
        let width = images
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:width$}  {:>10}  {:20}  {:14}  {:19}  SOURCE",
            "NAME", "SIZE", "CREATED", "FORMAT", "DIGEST"
        );
        for m in &images {
            let digest = m
                .digest
                .as_deref()
                .map(|d| d.chars().take(19).collect::<String>())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:width$}  {:>10}  {:20}  {:14}  {:19}  {}",
                m.name,
                human_size(m.size),
                m.created,
                m.format,
                digest,
                m.source
            );
        }
    }
    Ok(out)
}

/// `hutch image rm`.
pub fn remove(store: &Store, name: &str) -> Result<u8, ImageError> {
    check_name(name)?;
    let path = store.image(name);
    if !path.is_dir() {
        return Err(ImageError::NotFound(name.to_owned()));
    }
    if let Some(env) = image_in_use(&store.envs, name) {
        return Err(ImageError::InUse {
            image: name.to_owned(),
            env,
        });
    }
    sweep(store, None);
    let _working = store.lock_shared()?;
    // Out of sight first: from here on it is no image, and a killed removal is swept later.
    let doomed = store.temp_dir(&format!("rm-{name}"))?;
    std::fs::rename(&path, doomed.join(ROOTFS)).map_err(|source| ImageError::Store {
        path: path.clone(),
        source,
    })?;
    let plan = subid::decide(&HostIds::current()).plan;
    remove_tree(&plan, &doomed)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_drop_suffixes() {
        assert_eq!(default_name("/x/debian.tar.zst").unwrap(), "debian");
        assert_eq!(default_name("alpine.tgz").unwrap(), "alpine");
        assert_eq!(default_name("layout/").unwrap(), "layout");
        assert_eq!(default_name("img.tar").unwrap(), "img");
        assert!(matches!(default_name("-"), Err(ImageError::NameRequired)));
    }

    #[test]
    fn warnings_say_what_was_left_out() {
        let summary = Summary {
            devices: 3,
            dotdot: 1,
            dotdot_example: Some("../x".into()),
            unmapped_owners: 2,
            ..Summary::default()
        };
        let single = IdPlan::Single { uid: 1, gid: 1 };
        let w = summary_warnings(&summary, &single);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("skipped 3 device nodes"), "{w:?}");
        assert!(w[1].contains("(first: ../x)"), "{w:?}");
    }
}
