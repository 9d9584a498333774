//! The extracting side of an import, run as root of the user namespace: turn the source into
//! [`Item`]s for the [`Extractor`]. Streams are decompressed by their magic bytes (gzip, xz,
//! zstd; anything else is read as a plain tar), hashed as they come (sha256 of the input, in a
//! thread of its own: `super::feed`), and read to their end, so that a missing end-of-archive
//! marker, a compressed stream cut short or a layer whose bytes do not match its digest is an
//! error and not a silently smaller image.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::digest::{self, Algorithm};
use super::extract::{ExtractError, Extractor, Item, Kind};
use super::feed::Feed;
use super::progress::Progress;
use super::source::{is_image_archive_member, Layer, Source};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: the input is empty")]
    Empty { what: String },
    #[error("{what}: {format} compression is not supported")]
    Compression { what: String, format: &'static str },
    #[error("{what}: not a tar archive, or a corrupt one: {why}")]
    Tar { what: String, why: String },
    #[error("{what}: the archive is truncated ({why})")]
    Truncated { what: String, why: String },
    #[error("{what}: the bytes hash to {got}, not to {want}: the layer is corrupt")]
    Digest {
        what: String,
        got: String,
        want: String,
    },
    /// Image archives are read by member name, which needs an uncompressed file.
    #[error("{what} holds an image archive (`docker save` or OCI), not a root file system")]
    ImageArchive { what: String, stdin: bool },
    #[error("cannot copy {}", path.display())]
    Walk {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

impl ReadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::Compression { format, .. } => Some(format!(
                "decompress it first, e.g. `{} -dc FILE | hutch image import - --name NAME`",
                if *format == "bzip2" { "bzip2" } else { "lz4" }
            )),
            ReadError::ImageArchive { stdin: true, .. } => Some(
                "save it to a file and import that: `docker save IMAGE -o image.tar && hutch image \
                 import image.tar`"
                    .into(),
            ),
            ReadError::ImageArchive { stdin: false, .. } => Some(
                "decompress it (e.g. `gunzip -k FILE`) and import the uncompressed .tar".into(),
            ),
            _ => None,
        }
    }
}

/// What the reading learnt about the input.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Input {
    /// `tar`, `tar+gzip`, `tar+xz`, `tar+zstd`, `directory`, or the layers' format.
    pub format: String,
    /// `sha256:HEX` of the input stream, if it was one.
    pub digest: Option<String>,
}

/// Read `source` into `x`. `exclude` is the image store's (device, inode): a directory source
/// that contains the store must not copy the import into itself.
pub fn read(
    source: &Source,
    x: &mut Extractor,
    progress: &Progress,
    exclude: Option<(u64, u64)>,
) -> Result<Input, ReadError> {
    match source {
        Source::Stdin => {
            let stdin = std::io::stdin();
            let (compression, digest) = stream(
                stdin,
                "standard input",
                Whole::Stdin,
                Algorithm::Sha256,
                x,
                progress,
            )?;
            Ok(Input {
                format: compression.to_owned(),
                digest: Some(digest),
            })
        }
        Source::Tarball(path) => {
            let file = File::open(path).map_err(|source| ReadError::Open {
                path: path.clone(),
                source,
            })?;
            let what = path.display().to_string();
            let (compression, digest) =
                stream(file, &what, Whole::File, Algorithm::Sha256, x, progress)?;
            Ok(Input {
                format: compression.to_owned(),
                digest: Some(digest),
            })
        }
        Source::Directory(path) => {
            progress.step(&format!("copying {}", path.display()));
            walk(path, x, exclude)?;
            Ok(Input {
                format: "directory".into(),
                digest: None,
            })
        }
        Source::Layers {
            format,
            layers,
            digest,
        } => {
            for (i, layer) in layers.iter().enumerate() {
                progress.step(&format!(
                    "layer {}/{} {}",
                    i + 1,
                    layers.len(),
                    short(&layer.name)
                ));
                x.begin_layer();
                read_layer(layer, x, progress)?;
            }
            Ok(Input {
                format: (*format).to_owned(),
                digest: digest.clone(),
            })
        }
    }
}

fn short(name: &str) -> &str {
    match name.split_once(':') {
        Some((_, hex)) if hex.len() > 12 => &name[..name.len() - hex.len() + 12],
        _ => name,
    }
}

fn read_layer(layer: &Layer, x: &mut Extractor, progress: &Progress) -> Result<(), ReadError> {
    let open_error = |source| ReadError::Open {
        path: layer.file.clone(),
        source,
    };
    let mut file = layer.open().map_err(open_error)?;
    file.seek(SeekFrom::Start(layer.offset))
        .map_err(open_error)?;
    let what = format!("layer {}", layer.name);
    // source.rs refuses digests it cannot verify; one that slipped through would never match
    // the sha256 computed for it, and is refused below.
    let algorithm = layer
        .digest
        .as_deref()
        .and_then(|d| digest::parse(d).ok())
        .map_or(Algorithm::Sha256, |(algorithm, _)| algorithm);
    let (_, digest) = stream(
        file.take(layer.size),
        &what,
        Whole::Layer,
        algorithm,
        x,
        progress,
    )?;
    match &layer.digest {
        Some(want) if *want != digest => Err(ReadError::Digest {
            what,
            got: digest,
            want: want.clone(),
        }),
        _ => Ok(()),
    }
}

/// Counts the decompressed bytes the tar reader consumed.
struct Count<R> {
    inner: R,
    bytes: Rc<RefCell<u64>>,
}

impl<R: Read> Read for Count<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.bytes.borrow_mut() += n as u64;
        Ok(n)
    }
}

/// The tar reader quotes the bytes it could not parse: keep the message printable and short.
fn tar_error(what: &str, error: &std::io::Error) -> ReadError {
    let text = error.to_string();
    let mut why: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(120)
        .collect();
    if text.chars().count() > 120 {
        why.push_str("...");
    }
    ReadError::Tar {
        what: what.into(),
        why,
    }
}

/// Decompress by magic bytes; the compression's name for `image.toml`.
fn decompress<'a>(
    mut raw: Box<dyn Read + 'a>,
    what: &str,
) -> Result<(Box<dyn Read + 'a>, &'static str), ReadError> {
    let mut head = [0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(tar_error(what, &source)),
        }
    }
    let head = &head[..got];
    let chained: Box<dyn Read + 'a> = Box::new(Cursor::new(head.to_vec()).chain(raw));
    let unsupported = |format| ReadError::Compression {
        what: what.into(),
        format,
    };
    Ok(match head {
        [] => return Err(ReadError::Empty { what: what.into() }),
        [0x1f, 0x8b, ..] => (
            Box::new(flate2::read::MultiGzDecoder::new(chained)),
            "tar+gzip",
        ),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00] => (
            Box::new(liblzma::read::XzDecoder::new_multi_decoder(chained)),
            "tar+xz",
        ),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => (
            Box::new(zstd::stream::read::Decoder::new(chained).map_err(|e| tar_error(what, &e))?),
            "tar+zstd",
        ),
        [b'B', b'Z', b'h', ..] => return Err(unsupported("bzip2")),
        [0x04, 0x22, 0x4d, 0x18, ..] => return Err(unsupported("lz4")),
        _ => (chained, "tar"),
    })
}

/// Where a stream comes from: a whole root file system must not be an image archive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whole {
    Stdin,
    File,
    Layer,
}

/// One (possibly compressed) tar stream into `x`: its compression and the input's digest.
fn stream(
    raw: impl Read + Send + 'static,
    what: &str,
    whole: Whole,
    algorithm: Algorithm,
    x: &mut Extractor,
    progress: &Progress,
) -> Result<(&'static str, String), ReadError> {
    let mut feed = Feed::start(raw, progress, algorithm);
    let (decoded, compression) = decompress(Box::new(&mut feed), what)?;
    let consumed = Rc::new(RefCell::new(0u64));
    let counted = Count {
        inner: decoded,
        bytes: Rc::clone(&consumed),
    };
    let tar_error = |e: std::io::Error| tar_error(what, &e);
    let mut archive = tar::Archive::new(counted);
    let mut end = 0u64;
    let mut first = true;
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let path = entry.path().map_err(tar_error)?.into_owned();
        if first && whole != Whole::Layer && is_image_archive_member(&path.to_string_lossy()) {
            return Err(ReadError::ImageArchive {
                what: what.into(),
                stdin: whole == Whole::Stdin,
            });
        }
        first = false;
        let size = entry.size();
        end = entry.raw_file_position() + size.div_ceil(512) * 512;
        let header = entry.header();
        let kind_byte = header.entry_type();
        let uid = header.uid().map_err(tar_error)?;
        let gid = header.gid().map_err(tar_error)?;
        let mode = header.mode().map_err(tar_error)?;
        let mtime = header.mtime().map_err(tar_error)? as i64;
        let link = entry
            .link_name()
            .map_err(tar_error)?
            .map(|l| l.into_owned());
        let xattrs = xattrs_of(&mut entry).map_err(tar_error)?;
        use tar::EntryType as T;
        let kind = match kind_byte {
            T::Regular | T::Continuous | T::GNUSparse => Kind::File {
                data: &mut entry,
                size,
            },
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink(link.unwrap_or_default()),
            T::Link => Kind::Hardlink(link.unwrap_or_default()),
            T::Char | T::Block => Kind::Device,
            T::Fifo => Kind::Fifo,
            // Consumed by the tar reader already; a stray one carries nothing to write.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            _ => Kind::Unsupported,
        };
        x.add(Item {
            path: &path,
            kind,
            uid,
            gid,
            mode,
            mtime,
            xattrs,
        })?;
    }
    let mut rest = archive.into_inner();
    // tar(5): the archive ends with zero blocks. Without one, the stream was cut at a member
    // boundary; the tar reader alone would take that for a complete, smaller archive.
    if *consumed.borrow() < end + 512 {
        return Err(ReadError::Truncated {
            what: what.into(),
            why: "no end-of-archive marker".into(),
        });
    }
    // Read to the end: the compressed stream's own checks (CRC, length) run, the digest covers
    // every byte, and a writer on the other end of a pipe is not cut off.
    let truncated = |e: std::io::Error| ReadError::Truncated {
        what: what.into(),
        why: e.to_string(),
    };
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(truncated)?;
    drop(rest);
    std::io::copy(&mut feed, &mut std::io::sink()).map_err(truncated)?;
    let digest = feed.digest().ok_or_else(|| ReadError::Truncated {
        what: what.into(),
        why: "the input did not end".into(),
    })?;
    Ok((compression, digest))
}

/// `SCHILY.xattr.NAME` records of the entry's PAX header (GNU tar and bsdtar write them).
fn xattrs_of<R: Read>(entry: &mut tar::Entry<'_, R>) -> std::io::Result<Vec<(OsString, Vec<u8>)>> {
    let Some(extensions) = entry.pax_extensions()? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for extension in extensions {
        let extension = extension?;
        if let Some(name) = extension.key_bytes().strip_prefix(b"SCHILY.xattr.") {
            out.push((
                std::ffi::OsStr::from_bytes(name).to_owned(),
                extension.value_bytes().to_vec(),
            ));
        }
    }
    Ok(out)
}

/// Copy a directory tree: owners, modes, times, symlinks, hard links (by inode) and extended
/// attributes, as root of the user namespace (so files of subordinate ids are readable).
fn walk(src: &Path, x: &mut Extractor, exclude: Option<(u64, u64)>) -> Result<(), ReadError> {
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let meta = std::fs::symlink_metadata(src).map_err(|source| ReadError::Walk {
        path: src.to_owned(),
        source,
    })?;
    add_path(src, Path::new(""), &meta, x, &mut links)?;
    visit(src, Path::new(""), x, &mut links, exclude)
}

fn visit(
    dir: &Path,
    rel: &Path,
    x: &mut Extractor,
    links: &mut HashMap<(u64, u64), PathBuf>,
    exclude: Option<(u64, u64)>,
) -> Result<(), ReadError> {
    let walk_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ReadError::Walk { path, source }
    };
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map_err(walk_error(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(walk_error(dir))?;
    names.sort();
    for name in names {
        let abs = dir.join(&name);
        let child = rel.join(&name);
        let meta = std::fs::symlink_metadata(&abs).map_err(walk_error(&abs))?;
        if meta.is_dir() && Some((meta.dev(), meta.ino())) == exclude {
            continue;
        }
        add_path(&abs, &child, &meta, x, links)?;
        if meta.is_dir() {
            visit(&abs, &child, x, links, exclude)?;
        }
    }
    Ok(())
}

fn add_path(
    abs: &Path,
    rel: &Path,
    meta: &std::fs::Metadata,
    x: &mut Extractor,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), ReadError> {
    let walk_error = |source| ReadError::Walk {
        path: abs.to_owned(),
        source,
    };
    let ft = meta.file_type();
    let xattrs = if ft.is_symlink() {
        Vec::new()
    } else {
        read_xattrs(abs)
    };
    let mut file;
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink(std::fs::read_link(abs).map_err(walk_error)?)
    } else if ft.is_file() {
        let key = (meta.dev(), meta.ino());
        match links.get(&key) {
            Some(first) if meta.nlink() > 1 => Kind::Hardlink(first.clone()),
            _ => {
                if meta.nlink() > 1 {
                    links.insert(key, rel.to_owned());
                }
                file = File::open(abs).map_err(walk_error)?;
                Kind::File {
                    data: &mut file,
                    size: meta.len(),
                }
            }
        }
    } else if ft.is_fifo() {
        Kind::Fifo
    } else if ft.is_char_device() || ft.is_block_device() {
        Kind::Device
    } else {
        Kind::Unsupported
    };
    x.add(Item {
        path: rel,
        kind,
        uid: meta.uid().into(),
        gid: meta.gid().into(),
        mode: meta.mode() & 0o7777,
        mtime: meta.mtime(),
        xattrs,
    })?;
    Ok(())
}

/// The extended attributes of `path`; none when the file system has none or refuses to say.
fn read_xattrs(path: &Path) -> Vec<(OsString, Vec<u8>)> {
    // Most files have none: ask for the size first and allocate only when there is something.
    let size = match rustix::fs::listxattr(path, &mut [0u8; 0][..]) {
        Ok(0) | Err(_) => return Vec::new(),
        Ok(size) => size,
    };
    let mut names = vec![0u8; size];
    let Ok(len) = rustix::fs::listxattr(path, &mut names[..]) else {
        return Vec::new();
    };
    names[..len]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|name| {
            let name = std::ffi::OsStr::from_bytes(name).to_owned();
            let size = rustix::fs::getxattr(path, name.as_os_str(), &mut [0u8; 0][..]).ok()?;
            let mut value = vec![0u8; size];
            let n = rustix::fs::getxattr(path, name.as_os_str(), &mut value[..]).ok()?;
            value.truncate(n);
            Some((name, value))
        })
        .collect()
}
