//! Environments made from an imported image: a distribution of one's own on the shared kernel.
//!
//! The image's tree (`images/IMG/rootfs`) is the read-only lower layer of an overlay; the
//! environment writes to its own upper layer, so a hundred environments from one image cost
//! the image once. The environment is root inside with the same subordinate id ranges the image
//! was imported with (newuidmap/newgidmap from the launcher), so every file keeps its owner and
//! `useradd`, `chown` and package managers work. PID 1 is hutch's init.

use std::path::PathBuf;

use super::{Definition, EnvError, EnvPaths};
use crate::caps::{self, CapSet};
use crate::image::store::{ImageMeta, Store, ROOTFS};
use crate::mounts::Mount;
use crate::profile::{NetMode, Profile};
use crate::spec::{Host, RunRequest, SandboxSpec};
use crate::subid::{self, HostIds, IdPlan};

/// What an image environment's sandbox has besides its root: private /tmp and /run, its own
/// /proc and /dev, and a root's environment.
const IMAGE_PROFILE: &str = r#"
description = "an environment from an image"
[[mount]]
type = "tmpfs"
dst = "/tmp"
mode = 0o1777
[[mount]]
type = "tmpfs"
dst = "/run"
[[mount]]
type = "proc"
dst = "/proc"
[[mount]]
type = "dev"
dst = "/dev"
[env]
keep = ["TERM", "COLORTERM", "LANG", "LC_*", "TZ"]
set = { PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME = "/root", USER = "root", LOGNAME = "root", SHELL = "/bin/sh" }
"#;

/// Whether the image has an init of its own to run as PID 1.
pub fn has_system_init(rootfs: &std::path::Path) -> bool {
    std::fs::symlink_metadata(rootfs.join("sbin/init")).is_ok()
}

/// The image's tree, checked to exist. The name is checked as every image command checks it:
/// a path (`./x`, `../images/x`) would reach outside the store, and `hutch image rm` could not
/// see that the image is in use.
pub fn rootfs(store: &Store, image: &str) -> Result<(PathBuf, ImageMeta), EnvError> {
    if !crate::image::store::valid_name(image) {
        return Err(EnvError::Image {
            image: image.to_owned(),
            message: "not an image name: names are 1 to 63 letters, digits, `_`, `.` and `-`, \
                      starting with a letter or digit"
                .into(),
        });
    }
    let dir = store.image(image);
    let meta = ImageMeta::read(&dir.join("image.toml")).map_err(|message| EnvError::Image {
        image: image.to_owned(),
        message,
    })?;
    Ok((dir.join(ROOTFS), meta))
}

/// The id mapping the environment must use: the one its image was extracted with. `decided`
/// is what the spec chose for root inside from this user's ranges now.
fn id_ranges(
    image: &str,
    meta: &ImageMeta,
    decided: Option<IdPlan>,
) -> Result<Option<IdPlan>, EnvError> {
    if meta.ids.mapping != "ranges" {
        return Ok(None);
    }
    let same = |map: &crate::idmap::IdMap, lines: &[[u32; 3]]| {
        map.entries
            .iter()
            .map(|e| [e.inside, e.outside, e.count])
            .eq(lines.iter().copied())
    };
    match decided {
        Some(IdPlan::Ranges {
            ref uid_map,
            ref gid_map,
            ..
        }) if same(uid_map, &meta.ids.uid_map) && same(gid_map, &meta.ids.gid_map) => Ok(decided),
        _ => Err(EnvError::Image {
            image: image.to_owned(),
            message: "it was imported with subordinate id ranges that this user does not have now \
                      (the owners of its files would be wrong)"
                .into(),
        }),
    }
}

/// The environment's root as layers, top first: its own upper layer, then the image.
pub fn layers(paths: &EnvPaths, definition: &Definition) -> Result<Vec<PathBuf>, EnvError> {
    let image = definition.image.as_deref().ok_or_else(|| EnvError::Image {
        image: String::new(),
        message: format!("{} names no image", paths.definition().display()),
    })?;
    let (lower, _) = rootfs(&store_of(paths), image)?;
    Ok(vec![paths.upper(), lower])
}

/// The image store an environment's data directory belongs to.
fn store_of(paths: &EnvPaths) -> Store {
    Store::new(
        paths
            .dir
            .parent()
            .and_then(|envs| envs.parent())
            .expect("DATA/envs/NAME"),
    )
}

pub fn spec(
    paths: &EnvPaths,
    definition: &Definition,
    host: &Host,
) -> Result<SandboxSpec, EnvError> {
    let image = definition.image.as_deref().ok_or_else(|| EnvError::Image {
        image: String::new(),
        message: format!("{} names no image", paths.definition().display()),
    })?;
    let (lower, meta) = rootfs(&store_of(paths), image)?;
    let profile = Profile::from_builtin_text("image", IMAGE_PROFILE)?;
    let mut host = host.clone();
    host.cwd = "/".into();
    let request = RunRequest {
        profile: "image".into(),
        chdir: Some("/root".into()),
        hostname: Some(paths.name.clone()),
        map_root: true,
        net: Some(definition.net.mode.unwrap_or_else(default_net)),
        publish: definition.net.publish.clone(),
        host_loopback: definition.net.host_loopback,
        allow_hosts: definition.net.allow_hosts.clone(),
        resources: definition.limits.clone(),
        ..Default::default()
    };
    let mut spec = SandboxSpec::resolve(&request, &profile, &host)?;
    spec.mounts.insert(
        0,
        Mount::Overlay {
            lower,
            upper: paths.upper(),
            work: paths.work(),
            dst: "/".into(),
        },
    );
    // resolve() decided the ranges for root inside already (map_root); check they are the image's.
    spec.id_ranges = id_ranges(image, &meta, spec.id_ranges.take())?;
    spec.mounts
        .extend(super::shares::mounts(&definition.mounts)?);
    spec.landlock_scopes = super::environment_scopes(&spec);
    if definition.init == super::Init::System {
        spec.init_program = Some(c"/sbin/init".to_owned());
        machine(paths, &mut spec)?;
    }
    // A distribution's root: podman's list, and reboot(2) to restart the environment.
    spec.capabilities = CapSet::from_names(caps::ROOT_DEFAULT)
        .expect("the built-in list is valid")
        .with("SYS_BOOT");
    Ok(spec)
}

/// What a distribution's own init expects of a machine, as LXC and podman's `--systemd=always`
/// provide it: `container=hutch` in its environment (systemd then knows it is in a container,
/// writes /run/systemd/container itself, and leaves alone what a container cannot touch), a
/// machine id of the environment's own (generated once, kept in `envs/NAME/machine-id`; an
/// image's id would be shared by every environment made from it), /run/lock, and a read-only
/// sysfs where the environment has a network namespace of its own, as the kernel requires.
fn machine(paths: &EnvPaths, spec: &mut SandboxSpec) -> Result<(), EnvError> {
    spec.env.retain(|var| {
        !var.as_bytes().starts_with(b"container=") && !var.as_bytes().starts_with(b"NOTIFY_SOCKET=")
    });
    spec.env.push(c"container=hutch".to_owned());
    spec.env.push(
        std::ffi::CString::new(format!("NOTIFY_SOCKET={}", super::notify::INSIDE)).expect("no NUL"),
    );
    // Bound by the supervisor before PID 1 is started (see [`super::notify`]).
    spec.mounts.push(Mount::Bind {
        src: super::notify::host_path(paths),
        dst: super::notify::INSIDE.into(),
        read_only: true,
    });
    spec.mounts.push(Mount::Tmpfs {
        dst: "/run/lock".into(),
        mode: 0o1777,
    });
    if spec.net.own_namespace() {
        spec.mounts.push(Mount::Sysfs { dst: "/sys".into() });
    }
    install_machine_id(paths)?;
    Ok(())
}

/// Put the environment's machine id into its own layer as /etc/machine-id, unless that layer has
/// one (or a whiteout: it was removed inside). A plain file, not a bind mount: systemd takes an
/// /etc/machine-id that is a mount point for a transient one and fails to commit it
/// (systemd-machine-id-commit.service). Written before the overlay is mounted.
fn install_machine_id(paths: &EnvPaths) -> Result<(), EnvError> {
    let etc = paths.upper().join("etc");
    let target = etc.join("machine-id");
    if std::fs::symlink_metadata(&target).is_ok() {
        return Ok(());
    }
    let io = |what: &'static str, path: &std::path::Path| {
        let path = path.to_owned();
        move |source| EnvError::Io { what, path, source }
    };
    if std::fs::symlink_metadata(&etc).is_err() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&etc)
            .map_err(io("cannot create", &etc))?;
    }
    std::fs::copy(machine_id(paths)?, &target).map_err(io("cannot write", &target))?;
    Ok(())
}

/// `envs/NAME/machine-id`, made with a new random id (machine-id(5): 32 lowercase hex digits
/// and a newline) if it is not there yet.
pub fn machine_id(paths: &EnvPaths) -> Result<PathBuf, EnvError> {
    use std::io::Read;
    let path = paths.dir.join("machine-id");
    if path.exists() {
        return Ok(path);
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|source| EnvError::Io {
            what: "cannot read",
            path: "/dev/urandom".into(),
            source,
        })?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    super::write_atomically(&path, format!("{id}\n").as_bytes())?;
    // Every user inside reads it (dbus, journald); envs/NAME is the user's alone.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).map_err(
        |source| EnvError::Io {
            what: "cannot make readable",
            path: path.clone(),
            source,
        },
    )?;
    Ok(path)
}

/// pasta when it is installed (an environment from an image expects a network), else none.
fn default_net() -> NetMode {
    if crate::net::locate_pasta().is_ok() {
        NetMode::Pasta
    } else {
        NetMode::None
    }
}

/// Remove an image environment's directory: its upper layer holds files of subordinate ids,
/// which only the user namespace can delete.
pub fn remove(paths: &EnvPaths) -> Result<(), EnvError> {
    let plan = subid::decide(&HostIds::current()).plan;
    crate::image::remove_tree(&plan, &paths.dir).map_err(|e| EnvError::Image {
        image: String::new(),
        message: e.to_string(),
    })
}
