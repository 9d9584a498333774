//! What `hutch image import SRC` was given, decided before anything is written: standard input,
//! a tarball (its compression is found later, by magic bytes), a directory, an OCI image layout
//! (a directory with `oci-layout` and `index.json`, e.g. from `skopeo copy ... oci:DIR:TAG`), or
//! an image archive — `docker save` output (`manifest.json` → layers) or an OCI layout in a tar
//! (`skopeo copy ... oci-archive:F`).
//!
//! Layers come out as byte ranges of files, in order; OCI's JSON is read with oci-spec. Blob
//! names are built from digests only after checking them (a registered algorithm, plain hex;
//! see `digest`), every blob read by digest is verified against it, files of a layout directory
//! are opened beneath it with no symlink anywhere on the way (openat2 RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS), and archive members are looked up by exact name, so a hostile layout
//! can neither point outside itself nor smuggle unverified bytes in.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::image::{Arch, Descriptor, ImageIndex, ImageManifest, MediaType, Os};
use sha2::{Digest, Sha256};

use super::{digest, ImageError};

/// JSON documents (index, manifests) larger than this are not plausible.
const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Tarball(PathBuf),
    Directory(PathBuf),
    Layers {
        format: &'static str,
        layers: Vec<Layer>,
        digest: Option<String>,
    },
}

/// One layer: `size` bytes at `offset` of `file`, possibly compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub file: PathBuf,
    pub offset: u64,
    pub size: u64,
    /// For messages: the digest or the member name.
    pub name: String,
    /// `ALGORITHM:HEX` the bytes must hash to (OCI descriptors), checked while reading.
    pub digest: Option<String>,
    /// The OCI layout directory `file` lies in, when it is one of its blobs: then `file` is
    /// opened beneath it, never through a symlink.
    pub layout: Option<PathBuf>,
}

impl Layer {
    /// The file that holds the layer.
    pub fn open(&self) -> std::io::Result<File> {
        match &self.layout {
            None => File::open(&self.file),
            Some(dir) => {
                let relative = self
                    .file
                    .strip_prefix(dir)
                    .map_err(|_| std::io::Error::from_raw_os_error(libc::EXDEV))?;
                open_beneath(dir, relative)
            }
        }
    }
}

/// `name` inside the directory `dir`, opened read-only through real directories only.
fn open_beneath(dir: &Path, name: &Path) -> std::io::Result<File> {
    let dir = File::open(dir)?;
    crate::sys::open_beneath(dir.as_fd(), name, rustix::fs::OFlags::RDONLY)
        .map(File::from)
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno as i32))
}

fn layout_error(path: &Path, why: impl Into<String>) -> ImageError {
    ImageError::Layout {
        path: path.to_owned(),
        why: why.into(),
    }
}

/// Decide what `src` is. Reads JSON and tar headers, never a layer's contents.
pub fn classify(src: &str) -> Result<Source, ImageError> {
    if src == "-" {
        return Ok(Source::Stdin);
    }
    let path = std::path::absolute(src).unwrap_or_else(|_| PathBuf::from(src));
    let meta = std::fs::metadata(&path).map_err(|source| ImageError::Open {
        path: path.clone(),
        source,
    })?;
    if meta.is_dir() {
        if path.join("oci-layout").is_file() {
            let blobs = Blobs::Dir(path.clone());
            let (layers, digest) = oci_layers(&blobs, &path)?;
            return Ok(Source::Layers {
                format: "oci-layout",
                layers,
                digest: Some(digest),
            });
        }
        return Ok(Source::Directory(path));
    }
    let first = first_member(&path)?;
    if !first.as_deref().is_some_and(is_image_archive_member) {
        return Ok(Source::Tarball(path));
    }
    let blobs = Blobs::Tar {
        file: path.clone(),
        members: members(&path)?,
    };
    let digest = Some(file_digest(&path)?);
    if blobs.has("manifest.json") {
        Ok(Source::Layers {
            format: "docker-archive",
            layers: docker_layers(&blobs, &path)?,
            digest,
        })
    } else if blobs.has("index.json") {
        let (layers, _) = oci_layers(&blobs, &path)?;
        Ok(Source::Layers {
            format: "oci-archive",
            layers,
            digest,
        })
    } else {
        Err(layout_error(
            &path,
            "looks like an image archive but has neither manifest.json nor index.json",
        ))
    }
}

/// Names that open an image archive rather than a root file system.
pub fn is_image_archive_member(name: &str) -> bool {
    let name = name.trim_start_matches("./");
    let first = name.split('/').next().unwrap_or("");
    matches!(
        name,
        "manifest.json" | "index.json" | "oci-layout" | "repositories"
    ) || first == "blobs"
        || (first.len() >= 64 && first[..64].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The first member's name of an uncompressed tar, `None` if the file is not one.
fn first_member(path: &Path) -> Result<Option<String>, ImageError> {
    let file = File::open(path).map_err(|source| ImageError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut archive = tar::Archive::new(file);
    let Ok(mut entries) = archive.entries() else {
        return Ok(None);
    };
    Ok(entries
        .next()
        .and_then(|e| e.ok())
        .and_then(|e| Some(e.path().ok()?.to_string_lossy().into_owned())))
}

/// Every member of an uncompressed tar: name → (offset of its data, size).
fn members(path: &Path) -> Result<HashMap<String, (u64, u64)>, ImageError> {
    let read_error =
        |e: std::io::Error| layout_error(path, format!("cannot read the archive: {e}"));
    let file = File::open(path).map_err(|source| ImageError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut archive = tar::Archive::new(file);
    let mut map = HashMap::new();
    for entry in archive.entries_with_seek().map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.path().map_err(read_error)?;
        let name = name.to_string_lossy().trim_start_matches("./").to_owned();
        map.insert(name, (entry.raw_file_position(), entry.size()));
    }
    Ok(map)
}

fn file_digest(path: &Path) -> Result<String, ImageError> {
    let mut file = File::open(path).map_err(|source| ImageError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| ImageError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// Where an image's blobs are: files of a directory, or members of a tar.
enum Blobs {
    Dir(PathBuf),
    Tar {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
}

impl Blobs {
    fn has(&self, name: &str) -> bool {
        self.locate(name).is_ok()
    }

    /// (file, offset, size) of `name`, a relative name built by this module, or why it cannot
    /// be used. In a directory, only a regular file reached without symlinks counts.
    fn locate(&self, name: &str) -> Result<(PathBuf, u64, u64), String> {
        match self {
            Blobs::Dir(dir) => {
                let meta = open_beneath(dir, Path::new(name))
                    .and_then(|f| f.metadata())
                    .map_err(|e| match e.raw_os_error() {
                        Some(libc::ENOENT) => format!("{name} is missing"),
                        Some(libc::ELOOP | libc::EXDEV) => format!(
                            "{name} is a symlink or lies behind one: blobs must be regular files \
                             inside the layout"
                        ),
                        _ => format!("cannot open {name}: {e}"),
                    })?;
                if !meta.is_file() {
                    return Err(format!("{name} is not a regular file"));
                }
                Ok((dir.join(name), 0, meta.len()))
            }
            Blobs::Tar { file, members } => {
                let &(offset, size) = members
                    .get(name)
                    .ok_or_else(|| format!("{name} is missing"))?;
                Ok((file.clone(), offset, size))
            }
        }
    }

    fn read(&self, name: &str, what: &Path) -> Result<Vec<u8>, ImageError> {
        let (file, offset, size) = self.locate(name).map_err(|why| layout_error(what, why))?;
        if size > MAX_JSON {
            return Err(layout_error(
                what,
                format!("{name} is implausibly large ({size} bytes)"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let opened = match self {
            Blobs::Dir(dir) => open_beneath(dir, Path::new(name)),
            Blobs::Tar { .. } => File::open(&file),
        };
        opened
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(offset))?;
                f.take(size).read_to_end(&mut bytes)
            })
            .map_err(|e| layout_error(what, format!("cannot read {name}: {e}")))?;
        Ok(bytes)
    }
}

/// `blobs/ALG/HEX` for a digest of a registered algorithm, in plain hex; anything else is
/// refused (a digest hutch cannot verify is never imported unverified).
fn blob_name(descriptor: &Descriptor, what: &Path) -> Result<String, ImageError> {
    let digest = descriptor.digest().to_string();
    let (algorithm, hex) = digest::parse(&digest).map_err(|why| layout_error(what, why))?;
    Ok(format!("blobs/{}/{hex}", algorithm.name()))
}

/// The JSON blob a descriptor names, checked against its digest.
fn read_verified(
    blobs: &Blobs,
    descriptor: &Descriptor,
    what: &Path,
) -> Result<(String, Vec<u8>), ImageError> {
    let name = blob_name(descriptor, what)?;
    let bytes = blobs.read(&name, what)?;
    let digest = descriptor.digest().to_string();
    if !digest::matches(&bytes, &digest).map_err(|why| layout_error(what, why))? {
        return Err(layout_error(
            what,
            format!("{name} does not match its digest {digest}"),
        ));
    }
    Ok((name, bytes))
}

/// The layers of the one image in an OCI layout (index.json → manifest → layers), and the
/// manifest's digest. An index with several images picks the one for this machine.
fn oci_layers(blobs: &Blobs, what: &Path) -> Result<(Vec<Layer>, String), ImageError> {
    let index = ImageIndex::from_reader(&blobs.read("index.json", what)?[..])
        .map_err(|e| layout_error(what, format!("index.json: {e}")))?;
    let mut manifests = index.manifests().clone();
    // Nested indexes (multi-platform images), at most a few levels deep.
    for _ in 0..4 {
        let chosen = choose(&manifests, what)?;
        match chosen.media_type() {
            MediaType::ImageIndex => {
                let (name, bytes) = read_verified(blobs, &chosen, what)?;
                let nested = ImageIndex::from_reader(&bytes[..])
                    .map_err(|e| layout_error(what, format!("{name}: {e}")))?;
                manifests = nested.manifests().clone();
            }
            _ => {
                let (name, bytes) = read_verified(blobs, &chosen, what)?;
                let manifest = ImageManifest::from_reader(&bytes[..])
                    .map_err(|e| layout_error(what, format!("{name}: {e}")))?;
                let layers = manifest
                    .layers()
                    .iter()
                    .map(|layer| {
                        let name = blob_name(layer, what)?;
                        let (file, offset, size) = blobs
                            .locate(&name)
                            .map_err(|why| layout_error(what, format!("layer {why}")))?;
                        let digest = layer.digest().to_string();
                        Ok(Layer {
                            file,
                            offset,
                            size,
                            name: digest.clone(),
                            digest: Some(digest),
                            layout: match blobs {
                                Blobs::Dir(dir) => Some(dir.clone()),
                                Blobs::Tar { .. } => None,
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, ImageError>>()?;
                return Ok((layers, chosen.digest().to_string()));
            }
        }
    }
    Err(layout_error(what, "image indexes nested too deeply"))
}

/// One manifest of an index: the only one, or the only one for this OS and architecture.
fn choose(manifests: &[Descriptor], what: &Path) -> Result<Descriptor, ImageError> {
    let images: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| {
            matches!(
                d.media_type(),
                MediaType::ImageManifest | MediaType::ImageIndex
            )
        })
        .collect();
    if let [only] = images[..] {
        return Ok(only.clone());
    }
    let here: Vec<&Descriptor> = images
        .iter()
        .copied()
        .filter(|d| {
            d.platform()
                .as_ref()
                .is_some_and(|p| *p.os() == Os::default() && *p.architecture() == Arch::default())
        })
        .collect();
    if let [only] = here[..] {
        return Ok(only.clone());
    }
    let refs: Vec<String> = images
        .iter()
        .map(|d| {
            d.annotations()
                .as_ref()
                .and_then(|a| a.get("org.opencontainers.image.ref.name").cloned())
                .unwrap_or_else(|| d.digest().to_string())
        })
        .collect();
    Err(layout_error(
        what,
        if images.is_empty() {
            "index.json lists no image".to_string()
        } else {
            format!(
                "index.json lists {} images ({}); copy just one into a layout of its own",
                images.len(),
                refs.join(", ")
            )
        },
    ))
}

#[derive(serde::Deserialize)]
struct DockerManifest {
    #[serde(rename = "Layers")]
    layers: Vec<String>,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
}

/// `docker save` output: manifest.json lists the layers' member names, bottom first.
fn docker_layers(blobs: &Blobs, what: &Path) -> Result<Vec<Layer>, ImageError> {
    let manifests: Vec<DockerManifest> =
        serde_json::from_slice(&blobs.read("manifest.json", what)?)
            .map_err(|e| layout_error(what, format!("manifest.json: {e}")))?;
    let manifest = match &manifests[..] {
        [one] => one,
        [] => return Err(layout_error(what, "manifest.json lists no image")),
        many => {
            let tags: Vec<String> = many
                .iter()
                .flat_map(|m| m.repo_tags.clone().unwrap_or_default())
                .collect();
            return Err(layout_error(
                what,
                format!(
                    "the archive holds {} images ({}); `docker save` just one",
                    many.len(),
                    tags.join(", ")
                ),
            ));
        }
    };
    manifest
        .layers
        .iter()
        .map(|name| {
            let clean = name.trim_start_matches("./");
            let (file, offset, size) = blobs
                .locate(clean)
                .ok()
                .filter(|_| !clean.starts_with('/') && !clean.split('/').any(|c| c == ".."))
                .ok_or_else(|| layout_error(what, format!("layer {name} is missing")))?;
            Ok(Layer {
                file,
                offset,
                size,
                name: clean.to_owned(),
                digest: None,
                layout: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_image_archive_members() {
        for yes in [
            "manifest.json",
            "./oci-layout",
            "blobs/",
            "blobs/sha256/ab",
            "repositories",
            &format!("{}/layer.tar", "a".repeat(64)),
            &format!("{}.json", "0".repeat(64)),
        ] {
            assert!(is_image_archive_member(yes), "{yes}");
        }
        for no in ["./", "etc/", "bin", "index.html", "abc/layer.tar"] {
            assert!(!is_image_archive_member(no), "{no}");
        }
    }

    #[test]
    fn stdin_and_directories() {
        assert_eq!(classify("-").unwrap(), Source::Stdin);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            classify(dir.path().to_str().unwrap()).unwrap(),
            Source::Directory(dir.path().to_owned())
        );
        assert!(matches!(
            classify("/nonexistent/x.tar"),
            Err(ImageError::Open { .. })
        ));
    }
}
