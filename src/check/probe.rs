//! The probe: a throw-away child walks the path `hutch run` takes, one step after the other, and
//! reports each step's result to the parent through a pipe.
//!
//! The switches in /proc/sys only say what the host intends; what matters is what the kernel and
//! its security modules allow. Under Ubuntu's AppArmor restriction `clone(CLONE_NEWUSER)`
//! succeeds and the process then lacks the capabilities to map ids or mount; inside a container
//! a masked /proc makes only the proc mount fail. So the child does what the sandbox does: it
//! creates the namespaces, writes its own id maps, makes its mounts private and mounts a tmpfs on
//! /tmp and proc inside it — then, as a separate stage, an overlay with lower, upper and work
//! directories on that tmpfs. The child lives in its own namespaces only; nothing it mounts is
//! visible outside, and everything goes away when it exits.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};

use super::{Check, Status};
use crate::diagnose;
use crate::idmap::{self, IdMapping};
use crate::sys::{self, Errno, SysError};

/// One step of the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Clone,
    Setgroups,
    UidMap,
    GidMap,
    Unshare,
    Private,
    Tmpfs,
    Proc,
    OverlayDirs,
    Overlay,
    OverlayWrite,
}

/// The path `hutch run` needs, in order; each step needs the ones before.
pub const USERNS_STEPS: &[Step] = &[
    Step::Clone,
    Step::Setgroups,
    Step::UidMap,
    Step::GidMap,
    Step::Unshare,
    Step::Private,
    Step::Tmpfs,
    Step::Proc,
];

/// The overlay stage, tried after the whole user-namespace path passed.
pub const OVERLAY_STEPS: &[Step] = &[Step::OverlayDirs, Step::Overlay, Step::OverlayWrite];

/// Where the probe mounts its tmpfs: the place `hutch run` builds its scratch root.
const SCRATCH: &str = "/tmp";

impl Step {
    fn code(self) -> u8 {
        self as u8 + 1
    }

    fn from_code(code: u8) -> Option<Step> {
        USERNS_STEPS
            .iter()
            .chain(OVERLAY_STEPS)
            .copied()
            .find(|step| step.code() == code)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::Clone => "clone(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID)",
            Step::Setgroups => "writing \"deny\" to /proc/self/setgroups",
            Step::UidMap => "writing /proc/self/uid_map",
            Step::GidMap => "writing /proc/self/gid_map",
            Step::Unshare => "unshare(CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNET|CLONE_NEWCGROUP)",
            Step::Private => "making the mounts private (MS_REC|MS_PRIVATE on /)",
            Step::Tmpfs => "mounting a tmpfs on /tmp",
            Step::Proc => "mounting proc",
            Step::OverlayDirs => "creating lower, upper and work directories on the tmpfs",
            Step::Overlay => "mounting overlay",
            Step::OverlayWrite => "writing a file through the overlay",
        }
    }
}

/// How one stage of the probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Passed,
    Failed {
        step: Step,
        errno: Errno,
    },
    /// The stage did not run to a result: why, in words.
    Unfinished(String),
}

/// Both stages of the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub userns: Stage,
    pub overlay: Stage,
}

impl Outcome {
    /// Read the stages from the child's records; `ended` says how the child ended, for a record
    /// that never came.
    pub fn from_records(records: &[(Step, Result<(), Errno>)], ended: &str) -> Outcome {
        let userns = stage(USERNS_STEPS, records, ended);
        let overlay = if userns == Stage::Passed {
            stage(OVERLAY_STEPS, records, ended)
        } else {
            Stage::Unfinished("the user-namespace probe did not pass".into())
        };
        Outcome { userns, overlay }
    }

    fn not_started(error: &SysError) -> Outcome {
        Outcome {
            userns: Stage::Unfinished(format!("cannot start the probe: {error}")),
            overlay: Stage::Unfinished("the user-namespace probe did not run".into()),
        }
    }
}

fn stage(steps: &[Step], records: &[(Step, Result<(), Errno>)], ended: &str) -> Stage {
    for &step in steps {
        match records.iter().find(|(s, _)| *s == step) {
            Some((_, Ok(()))) => {}
            Some((_, Err(errno))) => {
                return Stage::Failed {
                    step,
                    errno: *errno,
                }
            }
            None => {
                return Stage::Unfinished(format!(
                    "the probe process {ended} before {}",
                    step.describe()
                ))
            }
        }
    }
    Stage::Passed
}

/// One step's result on the wire: the step's code, then the errno (0: passed), little-endian.
const RECORD: usize = 5;

fn encode(step: Step, result: Result<(), Errno>) -> [u8; RECORD] {
    let errno = match result {
        Ok(()) => 0,
        Err(errno) => errno as i32,
    };
    let [a, b, c, d] = errno.to_le_bytes();
    [step.code(), a, b, c, d]
}

/// The records in `bytes`; a torn last record or an unknown step is dropped.
fn decode(bytes: &[u8]) -> Vec<(Step, Result<(), Errno>)> {
    bytes
        .chunks_exact(RECORD)
        .filter_map(|record| {
            let step = Step::from_code(record[0])?;
            let errno = i32::from_le_bytes([record[1], record[2], record[3], record[4]]);
            Some((
                step,
                if errno == 0 {
                    Ok(())
                } else {
                    Err(Errno::from_raw(errno))
                },
            ))
        })
        .collect()
}

/// Run the probe. Forks: call it only from a single-threaded process (the `hutch` binary).
pub fn run() -> Outcome {
    spawn().unwrap_or_else(|error| Outcome::not_started(&error))
}

fn spawn() -> Result<Outcome, SysError> {
    // An inherited SIG_IGN would let the kernel reap the child before we read its status.
    sys::default_disposition(Signal::SIGCHLD)?;
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| SysError {
        call: "pipe2(probe)".into(),
        errno,
    })?;
    let ids = IdMapping {
        host_uid: nix::unistd::getuid().as_raw(),
        host_gid: nix::unistd::getgid().as_raw(),
        map_root: false,
    };
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
    // SAFETY: called from `hutch check` alone, a process that starts no thread (see
    // `crate::child`).
    let clone = unsafe { sys::clone_into_namespaces(flags) };
    let child = match clone {
        Err(error) => {
            tracing::debug!(%error, "probe: clone");
            return Ok(Outcome::from_records(
                &[(Step::Clone, Err(error.errno))],
                "ended",
            ));
        }
        Ok(None) => crate::child::run("the namespace probe", || {
            drop(read);
            let mut reporter = Reporter(File::from(write));
            let _ = walk(&mut reporter, &ids);
            drop(reporter);
            0
        }),
        Ok(Some(child)) => child,
    };
    drop(write);
    let mut bytes = Vec::new();
    let _ = File::from(read).read_to_end(&mut bytes);
    let ended = match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => "exited".to_owned(),
        Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
        Ok(WaitStatus::Signaled(_, signal, _)) => format!("was killed by {signal}"),
        Ok(other) => format!("ended ({other:?})"),
        Err(errno) => format!("was lost ({errno})"),
    };
    let records = decode(&bytes);
    tracing::debug!(?records, ended, "probe");
    Ok(Outcome::from_records(&records, &ended))
}

/// The child's end of the pipe.
struct Reporter(File);

impl Reporter {
    /// Send `step`'s result to the parent and pass it on, so that `?` stops at the first failure.
    fn step(&mut self, step: Step, result: Result<(), Errno>) -> Result<(), Errno> {
        // If the parent is gone, nobody is left to tell.
        let _ = self.0.write_all(&encode(step, result));
        result
    }
}

fn io_errno(error: &std::io::Error) -> Errno {
    Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO))
}

fn mkdir(path: &Path) -> Result<(), Errno> {
    std::fs::create_dir(path).map_err(|e| io_errno(&e))
}

/// The child's walk, in the order `hutch run` sets up a sandbox (see `sandbox::set_up`).
fn walk(out: &mut Reporter, ids: &IdMapping) -> Result<(), Errno> {
    out.step(Step::Clone, Ok(()))?;
    // Id maps exactly as the sandbox writes them: setgroups denied first, or the kernel refuses
    // an unprivileged gid_map (user_namespaces(7)).
    let map_steps = [Step::Setgroups, Step::UidMap, Step::GidMap];
    match idmap::write_own_maps(ids, Path::new("/proc/self")) {
        Ok(()) => {
            for step in map_steps {
                out.step(step, Ok(()))?;
            }
        }
        Err(error) => {
            let failed = match error.path.file_name().and_then(|n| n.to_str()) {
                Some("setgroups") => Step::Setgroups,
                Some("uid_map") => Step::UidMap,
                _ => Step::GidMap,
            };
            for step in map_steps.into_iter().take_while(|&s| s != failed) {
                out.step(step, Ok(()))?;
            }
            return out.step(failed, Err(io_errno(&error.source)));
        }
    }
    let rest = CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWCGROUP;
    out.step(Step::Unshare, sys::unshare(rest).map_err(|e| e.errno))?;
    // Private propagation before any mount, so nothing reaches the host's namespace
    // (mount_namespaces(7), "Shared subtrees").
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    out.step(
        Step::Private,
        sys::mount(None, Path::new("/"), None, private, None).map_err(|e| e.errno),
    )?;
    let scratch = Path::new(SCRATCH);
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    out.step(
        Step::Tmpfs,
        sys::mount(
            None,
            scratch,
            Some("tmpfs"),
            nosuid_nodev,
            Some("mode=0700"),
        )
        .map_err(|e| e.errno),
    )?;
    // A fresh proc needs the pid namespace we are PID 1 of, and a /proc on the host that is not
    // partly masked (as container runtimes do).
    let proc = scratch.join("proc");
    out.step(
        Step::Proc,
        mkdir(&proc).and_then(|()| {
            let flags = nosuid_nodev | MsFlags::MS_NOEXEC;
            sys::mount(None, &proc, Some("proc"), flags, None).map_err(|e| e.errno)
        }),
    )?;

    let [lower, upper, work, merged] =
        ["lower", "upper", "work", "merged"].map(|d| scratch.join(d));
    out.step(
        Step::OverlayDirs,
        [&lower, &upper, &work, &merged]
            .into_iter()
            .try_for_each(|d| mkdir(d)),
    )?;
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    out.step(
        Step::Overlay,
        sys::mount(
            Some(Path::new("overlay")),
            &merged,
            Some("overlay"),
            nosuid_nodev,
            Some(&data),
        )
        .map_err(|e| e.errno),
    )?;
    out.step(
        Step::OverlayWrite,
        std::fs::write(merged.join("probe"), b"hutch").map_err(|e| io_errno(&e)),
    )
}

/// `userns.probe`.
pub fn userns(stage: &Stage, proc_sys: &Path, uid: u32) -> Check {
    const ID: &str = "userns.probe";
    match stage {
        Stage::Passed if uid == 0 => Check::warn(
            ID,
            "the whole path works, but as root, which says nothing about an unprivileged user",
            "run `hutch check` as the user who will run hutch",
        ),
        Stage::Passed => Check::ok(
            ID,
            "created user, mount, pid, ipc, uts, net and cgroup namespaces, mapped own uid and \
             gid, mounted a tmpfs and proc",
        ),
        Stage::Failed {
            step: Step::Clone,
            errno,
        } => Check::fail(
            ID,
            format!("{} failed: {errno}", Step::Clone.describe()),
            diagnose::userns_fix(proc_sys),
        ),
        Stage::Failed { step, errno } => Check::new(
            ID,
            Status::Fail,
            format!(
                "the user namespace was created, but {} failed: {errno}",
                step.describe()
            ),
            fix_after_clone(*step, *errno, proc_sys),
        ),
        Stage::Unfinished(why) => Check::new(
            ID,
            Status::Fail,
            format!("the probe did not finish: {why}"),
            None,
        ),
    }
}

fn fix_after_clone(step: Step, errno: Errno, proc_sys: &Path) -> Option<String> {
    match (step, errno) {
        (Step::Proc, Errno::EPERM) => Some(diagnose::MASKED_PROC.into()),
        (Step::Tmpfs, Errno::ENOENT) => {
            Some("hutch builds the sandbox's root on /tmp: create /tmp on the host".into())
        }
        (_, Errno::EPERM | Errno::EACCES | Errno::ENOSPC) => {
            Some(diagnose::userns_fix(proc_sys).into())
        }
        _ => None,
    }
}

/// `overlay.userns`.
pub fn overlay(stage: &Stage) -> Check {
    const ID: &str = "overlay.userns";
    let needed = "--overlay and environments made from images need it";
    match stage {
        Stage::Passed => Check::ok(
            ID,
            "mounted an overlay (lower, upper and work on tmpfs) in a user namespace and wrote \
             through it",
        ),
        Stage::Failed {
            step,
            errno: Errno::ENODEV,
        } => Check::warn(
            ID,
            format!(
                "{} failed: ENODEV: the kernel has no overlay file system",
                step.describe()
            ),
            format!("`sudo modprobe overlay`, and list it in /etc/modules-load.d/; {needed}"),
        ),
        Stage::Failed { step, errno } => Check::warn(
            ID,
            format!("in a user namespace, {} failed: {errno}", step.describe()),
            format!(
                "use Linux 5.11 or later, where overlayfs can be mounted in a user namespace; \
                 {needed}"
            ),
        ),
        Stage::Unfinished(why) => {
            Check::warn(ID, format!("not probed: {why}"), "fix userns.probe first")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut bytes = Vec::new();
        bytes.extend(encode(Step::Clone, Ok(())));
        bytes.extend(encode(Step::Setgroups, Ok(())));
        bytes.extend(encode(Step::UidMap, Err(Errno::EPERM)));
        bytes.extend([Step::GidMap.code(), 0]); // torn
        assert_eq!(
            decode(&bytes),
            [
                (Step::Clone, Ok(())),
                (Step::Setgroups, Ok(())),
                (Step::UidMap, Err(Errno::EPERM)),
            ]
        );
        assert_eq!(decode(&[0xff, 0, 0, 0, 0]), []);
    }

    fn all_passed(steps: &[Step]) -> Vec<(Step, Result<(), Errno>)> {
        steps.iter().map(|&s| (s, Ok(()))).collect()
    }

    #[test]
    fn apparmor_style_failure_names_the_step_after_clone() {
        // Ubuntu 24.04: the clone succeeds, writing uid_map does not.
        let records = [
            (Step::Clone, Ok(())),
            (Step::Setgroups, Ok(())),
            (Step::UidMap, Err(Errno::EPERM)),
        ];
        let outcome = Outcome::from_records(&records, "exited");
        assert_eq!(
            outcome.userns,
            Stage::Failed {
                step: Step::UidMap,
                errno: Errno::EPERM
            }
        );
        assert!(matches!(outcome.overlay, Stage::Unfinished(_)));

        let proc_sys = tempfile::tempdir().unwrap();
        let dir = proc_sys.path().join("kernel");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("apparmor_restrict_unprivileged_userns"), "1\n").unwrap();
        let check = userns(&outcome.userns, proc_sys.path(), 1000);
        assert_eq!(check.status, Status::Fail);
        assert!(
            check
                .found
                .contains("created, but writing /proc/self/uid_map failed: EPERM"),
            "{check:?}"
        );
        assert_eq!(
            check.fix.as_deref(),
            Some(diagnose::FIX_APPARMOR_RESTRICTION)
        );
    }

    #[test]
    fn a_refused_clone_fails_with_the_switch_that_is_off() {
        let outcome = Outcome::from_records(&[(Step::Clone, Err(Errno::ENOSPC))], "ended");
        let proc_sys = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(proc_sys.path().join("user")).unwrap();
        std::fs::write(proc_sys.path().join("user/max_user_namespaces"), "0\n").unwrap();
        let check = userns(&outcome.userns, proc_sys.path(), 1000);
        assert_eq!(check.status, Status::Fail);
        assert!(check.found.starts_with("clone(CLONE_NEWUSER"), "{check:?}");
        assert_eq!(
            check.fix.as_deref(),
            Some(diagnose::FIX_MAX_USER_NAMESPACES)
        );
    }

    #[test]
    fn a_masked_proc_is_explained() {
        let mut records = all_passed(&USERNS_STEPS[..USERNS_STEPS.len() - 1]);
        records.push((Step::Proc, Err(Errno::EPERM)));
        let outcome = Outcome::from_records(&records, "exited");
        let check = userns(&outcome.userns, Path::new("/nonexistent"), 1000);
        assert_eq!(check.fix.as_deref(), Some(diagnose::MASKED_PROC));
    }

    #[test]
    fn a_child_that_died_midway_is_unfinished() {
        let records = all_passed(&USERNS_STEPS[..3]);
        let outcome = Outcome::from_records(&records, "was killed by SIGKILL");
        let Stage::Unfinished(why) = &outcome.userns else {
            panic!("{outcome:?}");
        };
        assert!(
            why.contains("killed by SIGKILL before writing /proc/self/gid_map"),
            "{why}"
        );
        assert_eq!(
            userns(&outcome.userns, Path::new("/"), 1000).status,
            Status::Fail
        );
    }

    #[test]
    fn overlay_is_a_warning_of_its_own() {
        let mut records = all_passed(USERNS_STEPS);
        records.push((Step::OverlayDirs, Ok(())));
        records.push((Step::Overlay, Err(Errno::EPERM)));
        let outcome = Outcome::from_records(&records, "exited");
        assert_eq!(outcome.userns, Stage::Passed);
        assert_eq!(
            userns(&outcome.userns, Path::new("/"), 1000).status,
            Status::Ok
        );
        let check = overlay(&outcome.overlay);
        assert_eq!(check.status, Status::Warn);
        assert!(
            check.found.contains("mounting overlay failed: EPERM"),
            "{check:?}"
        );

        records.pop();
        records.push((Step::Overlay, Ok(())));
        records.push((Step::OverlayWrite, Ok(())));
        let outcome = Outcome::from_records(&records, "exited");
        assert_eq!(overlay(&outcome.overlay).status, Status::Ok);
    }

    #[test]
    fn root_passing_the_probe_is_a_warning() {
        let check = userns(&Stage::Passed, Path::new("/"), 0);
        assert_eq!(check.status, Status::Warn);
    }
}
