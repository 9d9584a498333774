//! The inits an environment can boot (`--init system`), told apart by what the image holds, and
//! each one's own way of being asked to shut down or reboot.
//!
//! Inside a pid namespace, reboot(2) does not touch the machine: the kernel kills the
//! namespace's init and reports it as killed by SIGHUP (restart) or SIGINT (power off, halt)
//! (reboot(2), "Behavior inside PID namespaces"). So a clean stop is: ask the init by its own
//! convention, let it run its shutdown (units, rc0.d scripts, `::shutdown:` actions), and
//! let it end with reboot(2); the supervisor reads the answer from PID 1's wait status.
//!
//! | init     | shut down                          | reboot                       |
//! |----------|------------------------------------|------------------------------|
//! | systemd  | SIGRTMIN+3 (halt.target)           | SIGINT (ctrl-alt-del.target) |
//! | sysvinit | SIGPWR, if inittab acts on it;     | SIGINT, if inittab has a     |
//! |          | else `telinit 0` inside            | ctrlaltdel reboot; else `telinit 6` |
//! | busybox  | SIGUSR2 (poweroff)                 | SIGTERM (reboot)             |
//! | hutch's  | SIGTERM                            | SIGTERM, and start it again  |
//!
//! An init the image does not reveal gets SIGTERM, like an OCI container; `stop_signal` in
//! env.toml overrides the shutdown signal of any of them.

use std::path::{Component, Path, PathBuf};

/// An image's init, as far as hutch can tell from its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// hutch's own idle init (`--init hutch`).
    Hutch,
    Systemd,
    Sysvinit,
    Busybox,
    /// Some other program at /sbin/init.
    Other,
}

impl std::fmt::Display for InitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InitKind::Hutch => "hutch",
            InitKind::Systemd => "systemd",
            InitKind::Sysvinit => "sysvinit",
            InitKind::Busybox => "busybox",
            InitKind::Other => "other",
        })
    }
}

/// How PID 1 is asked for something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Send it this signal.
    Signal(libc::c_int),
    /// Run this command inside the environment (sysvinit's `telinit`, through the control
    /// fifo init reads).
    Command(Vec<String>),
}

/// When an init counts as booted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    /// Once it runs.
    #[default]
    Started,
    /// Once it sends `READY=1` to `$NOTIFY_SOCKET` (see [`super::notify`]), as systemd does.
    Notify,
}

/// What the supervisor does to stop or reboot the environment's init, and how it knows it
/// has booted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conventions {
    pub kind: InitKind,
    pub stop: Ask,
    /// A reboot by the init's own means; `None`: stop it, and the supervisor starts it again.
    pub reboot: Option<Ask>,
    pub ready: Readiness,
    /// How long a [`Readiness::Notify`] init may take to boot before it is taken for frozen.
    pub boot_timeout: std::time::Duration,
}

/// The default [`Conventions::boot_timeout`]. systemd's own default start timeout is 90 s; an
/// emulated machine is slower.
pub const BOOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

#[derive(Debug, thiserror::Error)]
pub enum InitsError {
    #[error("stop_signal = {value:?} in {} is not a signal", definition.display())]
    BadStopSignal { value: String, definition: PathBuf },
    #[error(
        "the image's init is systemd, which needs a cgroup v2 hierarchy of its own to boot, and \
         this host {why}: systemd would stop at \"Freezing execution\""
    )]
    SystemdNeedsCgroup2 { why: &'static str },
}

impl InitsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            InitsError::BadStopSignal { .. } => Some(
                "name a signal as `SIGTERM`, `SIGPWR`, `SIGRTMIN+3` (or its number), or remove the key to use the init's own".into(),
            ),
            InitsError::SystemdNeedsCgroup2 { .. } => Some(
                "boot the host with the unified cgroup v2 hierarchy (`systemd.unified_cgroup_hierarchy=1`, the default since systemd 247), or create the environment with `--init hutch` (the image's services then do not start on their own); `hutch check` shows the cgroup state".into(),
            ),
        }
    }
}

/// Why an environment whose init is `kind` cannot boot on this host (`mountinfo`: the text of
/// /proc/self/mountinfo), if it cannot. systemd mounts its cgroup hierarchy itself; inside a
/// user namespace only a cgroup2 mount of its cgroup namespace is possible (cgroup v1
/// hierarchies cannot be mounted there), so a host whose /sys/fs/cgroup is not cgroup2 (v1, or
/// "hybrid" with cgroup2 only at /sys/fs/cgroup/unified) leaves systemd nothing to run on.
pub fn host_problem(kind: InitKind, mountinfo: &str) -> Option<InitsError> {
    if kind != InitKind::Systemd {
        return None;
    }
    let mut cgroup2 = false;
    let mut unified = false;
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        if after.split(' ').next() != Some("cgroup2") {
            continue;
        }
        cgroup2 = true;
        unified |= before.split(' ').nth(4) == Some("/sys/fs/cgroup");
    }
    match (cgroup2, unified) {
        (_, true) => None,
        (true, false) => Some(InitsError::SystemdNeedsCgroup2 {
            why: "has cgroup v1 with cgroup v2 only beside it (a hybrid hierarchy)",
        }),
        (false, false) => Some(InitsError::SystemdNeedsCgroup2 {
            why: "has no cgroup v2 mounted (cgroup v1 only)",
        }),
    }
}

impl Conventions {
    /// hutch's own init: SIGTERM ends it; a restart is a stop and a new start.
    pub fn hutch() -> Conventions {
        Conventions {
            kind: InitKind::Hutch,
            stop: Ask::Signal(libc::SIGTERM),
            reboot: None,
            ready: Readiness::Started,
            boot_timeout: BOOT_TIMEOUT,
        }
    }

    /// The conventions of the init found in `layers` (the environment's root, top layer
    /// first), with `stop_signal` from env.toml over them.
    pub fn for_image(layers: &[PathBuf], stop_signal: Option<libc::c_int>) -> Conventions {
        let kind = detect(layers);
        let inittab = || {
            resolve(layers, Path::new("/etc/inittab"))
                .and_then(|(host, _)| read_small(&host))
                .map(|text| String::from_utf8_lossy(&text).into_owned())
                .unwrap_or_default()
        };
        let mut conventions = match kind {
            InitKind::Systemd => Conventions {
                kind,
                stop: Ask::Signal(libc::SIGRTMIN() + 3),
                reboot: Some(Ask::Signal(libc::SIGINT)),
                ready: Readiness::Notify,
                boot_timeout: BOOT_TIMEOUT,
            },
            InitKind::Busybox => Conventions {
                kind,
                stop: Ask::Signal(libc::SIGUSR2),
                reboot: Some(Ask::Signal(libc::SIGTERM)),
                ready: Readiness::Started,
                boot_timeout: BOOT_TIMEOUT,
            },
            InitKind::Sysvinit => sysvinit(&inittab()),
            InitKind::Hutch | InitKind::Other => Conventions {
                kind,
                stop: Ask::Signal(libc::SIGTERM),
                reboot: None,
                ready: Readiness::Started,
                boot_timeout: BOOT_TIMEOUT,
            },
        };
        if let Some(signal) = stop_signal {
            conventions.stop = Ask::Signal(signal);
        }
        conventions
    }
}

/// sysvinit acts on SIGPWR by running its `powerwait`/`powerfail` entries (init(8)), and on
/// SIGINT by running `ctrlaltdel`; only entries that shut down or reboot make those signals
/// ours to use. Otherwise `telinit`, which reaches init through /run/initctl.
fn sysvinit(inittab: &str) -> Conventions {
    let runs = |actions: &[&str], goal: Goal| {
        inittab_entries(inittab).any(|e| actions.contains(&e.action) && does(e.process, goal))
    };
    let telinit = |level: &str| Ask::Command(vec!["telinit".into(), level.into()]);
    Conventions {
        kind: InitKind::Sysvinit,
        stop: if runs(&["powerwait", "powerfail", "powerfailnow"], Goal::Halt) {
            Ask::Signal(libc::SIGPWR)
        } else {
            telinit("0")
        },
        reboot: Some(if runs(&["ctrlaltdel"], Goal::Reboot) {
            Ask::Signal(libc::SIGINT)
        } else {
            telinit("6")
        }),
        ready: Readiness::Started,
        boot_timeout: BOOT_TIMEOUT,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Halt,
    Reboot,
}

/// Whether an inittab entry's command halts or reboots the system: `shutdown -h|-P|-H` or
/// `-r`, `halt`, `poweroff`, `reboot`, `telinit`/`init` 0 or 6.
fn does(process: &str, goal: Goal) -> bool {
    let mut words = process.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let program = program.trim_start_matches(['-', '+']);
    let program = program.rsplit('/').next().unwrap_or(program);
    let args: Vec<&str> = words.collect();
    let flag = |letters: &[char]| {
        args.iter().any(|a| {
            a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().any(|c| letters.contains(&c))
        })
    };
    match (program, goal) {
        ("shutdown", Goal::Halt) => flag(&['h', 'P', 'H']),
        ("shutdown", Goal::Reboot) => flag(&['r']),
        ("halt" | "poweroff", Goal::Halt) | ("reboot", Goal::Reboot) => true,
        ("telinit" | "init", Goal::Halt) => args.contains(&"0"),
        ("telinit" | "init", Goal::Reboot) => args.contains(&"6"),
        _ => false,
    }
}

/// One `id:runlevels:action:process` line of an inittab.
struct InittabEntry<'a> {
    id: &'a str,
    runlevels: &'a str,
    action: &'a str,
    process: &'a str,
}

fn inittab_entries(text: &str) -> impl Iterator<Item = InittabEntry<'_>> {
    text.lines().filter_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.splitn(4, ':');
        Some(InittabEntry {
            id: fields.next()?,
            runlevels: fields.next()?,
            action: fields.next()?,
            process: fields.next()?,
        })
    })
}

/// busybox's inittab names a tty where sysvinit's names an id, ignores runlevels, and has
/// actions of its own; sysvinit's has an `initdefault` and ids on every line.
fn inittab_is_busybox(text: &str) -> Option<bool> {
    let entries: Vec<InittabEntry> = inittab_entries(text).collect();
    if entries.is_empty() {
        return None;
    }
    if entries.iter().any(|e| e.action == "initdefault") {
        return Some(false);
    }
    Some(
        entries.iter().any(|e| e.action == "askfirst")
            || entries.iter().all(|e| e.runlevels.is_empty())
            || entries.iter().any(|e| e.id.is_empty()),
    )
}

/// Which init /sbin/init is: by the name it links to, then by what its binary says of itself,
/// then by the syntax of /etc/inittab.
pub fn detect(layers: &[PathBuf]) -> InitKind {
    let Some((host, inside)) = resolve(layers, Path::new("/sbin/init")) else {
        return InitKind::Other;
    };
    match inside.file_name().and_then(|n| n.to_str()) {
        Some("systemd") => return InitKind::Systemd,
        Some("busybox") => return InitKind::Busybox,
        _ => {}
    }
    let binary = read_prefix(&host, 8 << 20).unwrap_or_default();
    let has = |needle: &[u8]| binary.windows(needle.len()).any(|w| w == needle);
    if has(b"BusyBox v") {
        return InitKind::Busybox;
    }
    if has(b"INIT_VERSION") {
        return InitKind::Sysvinit;
    }
    if has(b"SYSTEMD_") {
        return InitKind::Systemd;
    }
    let inittab =
        resolve(layers, Path::new("/etc/inittab")).and_then(|(host, _)| read_small(&host));
    match inittab.and_then(|text| inittab_is_busybox(&String::from_utf8_lossy(&text))) {
        Some(true) => InitKind::Busybox,
        Some(false) => InitKind::Sysvinit,
        None => InitKind::Other,
    }
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    read_prefix(path, 1 << 20)
}

fn read_prefix(path: &Path, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// The file an absolute path inside the environment names: symbolic links are followed inside
/// the layered root (an absolute target starts again at its top, `..` stops there), so the
/// image's /sbin → usr/sbin and /sbin/init → /lib/systemd/systemd resolve as they will
/// inside, and nothing outside the layers is ever read. An overlayfs whiteout in an upper
/// layer hides what is below. Returns the host path and the path inside.
fn resolve(layers: &[PathBuf], path: &Path) -> Option<(PathBuf, PathBuf)> {
    let mut pending: Vec<std::ffi::OsString> = components(path);
    pending.reverse();
    let mut inside = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            inside.pop();
            continue;
        }
        let candidate = inside.join(&part);
        let (host, meta) = lookup(layers, &candidate)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = std::fs::read_link(&host).ok()?;
            if target.is_absolute() {
                inside = PathBuf::from("/");
            }
            let mut more = components(&target);
            more.reverse();
            pending.extend(more);
            continue;
        }
        inside = candidate;
        if pending.is_empty() {
            return Some((host, inside));
        }
    }
    None
}

fn components(path: &Path) -> Vec<std::ffi::OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// The topmost layer's entry for `inside`, unless a whiteout (a 0:0 character device) hides it.
fn lookup(layers: &[PathBuf], inside: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let relative = inside.strip_prefix("/").unwrap_or(inside);
    for layer in layers {
        let host = layer.join(relative);
        if let Ok(meta) = std::fs::symlink_metadata(&host) {
            if meta.file_type().is_char_device() && meta.rdev() == 0 {
                return None;
            }
            return Some((host, meta));
        }
    }
    None
}

/// A signal by name (`SIGPWR`, `PWR`, `SIGRTMIN+3`, `RTMIN+3`) or number.
pub fn parse_signal(text: &str) -> Option<libc::c_int> {
    let text = text.trim();
    if let Ok(number) = text.parse::<libc::c_int>() {
        return (1..=libc::SIGRTMAX()).contains(&number).then_some(number);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let offset: libc::c_int = match rest {
            "" => 0,
            _ => rest.strip_prefix('+')?.parse().ok()?,
        };
        let signal = libc::SIGRTMIN() + offset;
        return (signal <= libc::SIGRTMAX()).then_some(signal);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let offset: libc::c_int = match rest {
            "" => 0,
            _ => rest.strip_prefix('-')?.parse().ok()?,
        };
        let signal = libc::SIGRTMAX() - offset;
        return (signal >= libc::SIGRTMIN()).then_some(signal);
    }
    let signal: nix::sys::signal::Signal = format!("SIG{name}").parse().ok()?;
    Some(signal as libc::c_int)
}

/// The name of a signal for messages: `SIGPWR`, `SIGRTMIN+3`.
pub fn signal_name(signal: libc::c_int) -> String {
    if signal >= libc::SIGRTMIN() && signal <= libc::SIGRTMAX() {
        return format!("SIGRTMIN+{}", signal - libc::SIGRTMIN());
    }
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| signal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root of `files` (path, contents) and `links` (path, target) in a temp dir.
    fn root(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        for (path, target) in links {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, path).unwrap();
        }
        dir
    }

    fn kind(dir: &tempfile::TempDir) -> InitKind {
        detect(&[dir.path().to_owned()])
    }

    const DEBIAN_INITTAB: &str = "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n\
        l0:0:wait:/etc/init.d/rc 0\nca:12345:ctrlaltdel:/sbin/shutdown -t1 -a -r now\n\
        1:2345:respawn:/sbin/getty --noclear 38400 tty1\n";

    #[test]
    fn systemd_is_found_through_merged_usr_and_absolute_links() {
        // Debian bookworm: /sbin -> usr/sbin, /usr/sbin/init -> ../lib/systemd/systemd.
        let dir = root(
            &[("usr/lib/systemd/systemd", b"\x7fELF")],
            &[
                ("sbin", "usr/sbin"),
                ("lib", "usr/lib"),
                ("usr/sbin/init", "../lib/systemd/systemd"),
            ],
        );
        assert_eq!(kind(&dir), InitKind::Systemd);
        let absolute = root(
            &[("usr/lib/systemd/systemd", b"\x7fELF")],
            &[("lib", "/usr/lib"), ("sbin/init", "/lib/systemd/systemd")],
        );
        assert_eq!(kind(&absolute), InitKind::Systemd);
    }

    #[test]
    fn links_never_leave_the_root() {
        // `..` above the root stays at the root, as it does inside.
        let dir = root(
            &[("bin/busybox", b"BusyBox v1.36")],
            &[("sbin/init", "../../../../../bin/busybox")],
        );
        assert_eq!(kind(&dir), InitKind::Busybox);
        let escape = root(&[], &[("sbin/init", "/etc/../../../proc/self/exe")]);
        assert_eq!(
            resolve(&[escape.path().to_owned()], Path::new("/sbin/init")),
            None
        );
        let looped = root(&[], &[("sbin/init", "/sbin/init")]);
        assert_eq!(kind(&looped), InitKind::Other);
    }

    #[test]
    fn binaries_and_inittabs_tell_the_rest() {
        let sysv = root(
            &[
                ("sbin/init", b"\x7fELF...INIT_VERSION=sysvinit-3.06"),
                ("etc/inittab", DEBIAN_INITTAB.as_bytes()),
            ],
            &[],
        );
        assert_eq!(kind(&sysv), InitKind::Sysvinit);
        let busybox_copy = root(&[("sbin/init", b"\x7fELF BusyBox v1.36.1")], &[]);
        assert_eq!(kind(&busybox_copy), InitKind::Busybox);
        let by_inittab = root(
            &[
                ("sbin/init", b"\x7fELF"),
                ("etc/inittab", b"::sysinit:/etc/rc\n::askfirst:-/bin/sh\n"),
            ],
            &[],
        );
        assert_eq!(kind(&by_inittab), InitKind::Busybox);
        let sysv_by_inittab = root(
            &[
                ("sbin/init", b"\x7fELF"),
                ("etc/inittab", DEBIAN_INITTAB.as_bytes()),
            ],
            &[],
        );
        assert_eq!(kind(&sysv_by_inittab), InitKind::Sysvinit);
        let unknown = root(&[("sbin/init", b"#!/bin/sh\nexec sleep inf\n")], &[]);
        assert_eq!(kind(&unknown), InitKind::Other);
        assert_eq!(kind(&root(&[], &[])), InitKind::Other);
    }

    #[test]
    fn an_upper_layer_overrides_and_whites_out() {
        let lower = root(&[("sbin/init", b"BusyBox v1")], &[]);
        let upper = root(
            &[("lib/systemd/systemd", b"")],
            &[("sbin/init", "/lib/systemd/systemd")],
        );
        let layers = [upper.path().to_owned(), lower.path().to_owned()];
        assert_eq!(detect(&layers), InitKind::Systemd);
        let whiteout = tempfile::tempdir().unwrap();
        std::fs::create_dir(whiteout.path().join("sbin")).unwrap();
        let made = nix::sys::stat::mknod(
            &whiteout.path().join("sbin/init"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            0,
        );
        if made.is_ok() {
            let layers = [whiteout.path().to_owned(), lower.path().to_owned()];
            assert_eq!(detect(&layers), InitKind::Other);
        }
    }

    #[test]
    fn each_init_is_asked_its_own_way() {
        let systemd = root(
            &[("lib/systemd/systemd", b"")],
            &[("sbin/init", "/lib/systemd/systemd")],
        );
        let c = Conventions::for_image(&[systemd.path().to_owned()], None);
        assert_eq!(c.stop, Ask::Signal(libc::SIGRTMIN() + 3));
        assert_eq!(c.reboot, Some(Ask::Signal(libc::SIGINT)));
        let busybox = root(&[("bin/busybox", b"")], &[("sbin/init", "../bin/busybox")]);
        let c = Conventions::for_image(&[busybox.path().to_owned()], None);
        assert_eq!(
            (c.stop, c.reboot),
            (Ask::Signal(libc::SIGUSR2), Some(Ask::Signal(libc::SIGTERM)))
        );
        // Debian's stock inittab: no power entry, a ctrl-alt-del reboot.
        let c = sysvinit(DEBIAN_INITTAB);
        assert_eq!(c.stop, Ask::Command(vec!["telinit".into(), "0".into()]));
        assert_eq!(c.reboot, Some(Ask::Signal(libc::SIGINT)));
        let powered = format!("{DEBIAN_INITTAB}pf::powerwait:/sbin/shutdown -t1 -a -h now\n");
        assert_eq!(sysvinit(&powered).stop, Ask::Signal(libc::SIGPWR));
        assert!(does("/sbin/shutdown -t1 -a -h now", Goal::Halt));
        assert!(!does("/sbin/shutdown -t1 -a -r now", Goal::Halt));
        assert!(does("/sbin/telinit 0", Goal::Halt) && does("reboot", Goal::Reboot));
        // A power entry that does not shut down (a UPS script) is not a way to stop.
        let ups = "id:2:initdefault:\npf::powerwait:/etc/init.d/ups-monitor notify\n";
        let c = sysvinit(ups);
        assert_eq!(c.stop, Ask::Command(vec!["telinit".into(), "0".into()]));
        assert_eq!(
            c.reboot,
            Some(Ask::Command(vec!["telinit".into(), "6".into()]))
        );
        // env.toml's stop_signal wins.
        let c = Conventions::for_image(&[busybox.path().to_owned()], Some(libc::SIGPWR));
        assert_eq!(c.stop, Ask::Signal(libc::SIGPWR));
    }

    #[test]
    fn systemd_is_refused_where_cgroup_v2_is_not_the_hierarchy() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                      32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                      33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let v1 = "33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let unified = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
        assert!(matches!(
            host_problem(InitKind::Systemd, hybrid),
            Some(InitsError::SystemdNeedsCgroup2 { why }) if why.contains("hybrid")
        ));
        assert!(matches!(
            host_problem(InitKind::Systemd, v1),
            Some(InitsError::SystemdNeedsCgroup2 { why }) if why.contains("v1 only")
        ));
        assert!(host_problem(InitKind::Systemd, unified).is_none());
        for other in [InitKind::Busybox, InitKind::Sysvinit, InitKind::Hutch] {
            assert!(host_problem(other, hybrid).is_none());
        }
    }

    #[test]
    fn signals_parse_by_name_and_number() {
        assert_eq!(parse_signal("SIGPWR"), Some(libc::SIGPWR));
        assert_eq!(parse_signal("pwr"), Some(libc::SIGPWR));
        assert_eq!(parse_signal("SIGRTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(parse_signal("RTMIN+4"), Some(libc::SIGRTMIN() + 4));
        assert_eq!(parse_signal("SIGRTMAX-1"), Some(libc::SIGRTMAX() - 1));
        assert_eq!(parse_signal("15"), Some(libc::SIGTERM));
        for bad in ["", "SIGNOPE", "0", "99", "RTMIN+99", "RTMIN3", "SIG"] {
            assert_eq!(parse_signal(bad), None, "{bad}");
        }
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(signal_name(libc::SIGPWR), "SIGPWR");
    }
}
