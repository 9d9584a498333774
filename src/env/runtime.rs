//! An environment's live state: the supervisor's lock (`envs/NAME/lock`) and
//! `envs/NAME/run/state.json`, and the reconciliation every command does before it believes
//! either. The lock proves a supervisor lives; a pid is believed only with its start time and
//! the boot id it was recorded under, so a reused pid or a reboot never passes for the
//! environment.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::{EnvError, EnvPaths};
use crate::sys;

/// What the supervisor writes once PID 1 runs (and again after each restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeState {
    pub supervisor: i32,
    pub supervisor_start: u64,
    /// PID 1 of the environment, in the host's pid namespace.
    pub init: i32,
    pub init_start: u64,
    /// Seconds since the epoch when PID 1 (re)started.
    pub since: u64,
    /// Restarts (reboots from inside and `hutch restart`) since `hutch start`.
    pub restarts: u32,
    /// The kernel's boot id when this was written: start times count from boot.
    #[serde(default)]
    pub boot_id: String,
    /// Whether PID 1 has booted (see [`Phase`]).
    #[serde(default)]
    pub phase: Phase,
    /// The init's last `STATUS=` (see [`super::notify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_status: Option<String>,
    /// The sandbox's cgroup directory, with limits (`hutch status`, `hutch update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<std::path::PathBuf>,
}

/// Where a running environment's init is: an init that reports readiness (systemd) is booting
/// until it says `READY=1`; any other is running once it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Booting,
    #[default]
    Running,
    /// It said `STOPPING=1`: shutting down.
    Stopping,
}

/// `/proc/sys/kernel/random/boot_id`: new at every boot, so read once per process (`hutch ls`
/// compares it with every environment's state).
pub fn boot_id() -> String {
    static BOOT_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|id| id.trim().to_owned())
                .unwrap_or_default()
        })
        .clone()
}

/// Largest state.json believed (a few hundred bytes in practice).
const STATE_LIMIT: u64 = 64 * 1024;

impl RuntimeState {
    pub fn init_pid(&self) -> Pid {
        Pid::from_raw(self.init)
    }

    /// Whether this state was written during this boot (where the kernel hides its boot id,
    /// both are empty and start times alone decide).
    fn this_boot(&self) -> bool {
        self.boot_id == boot_id()
    }

    /// Whether `init` is still the process this state describes (pids are reused).
    pub fn init_alive(&self) -> bool {
        self.this_boot() && sys::process_start_time(self.init_pid()) == Some(self.init_start)
    }

    /// A pidfd for the supervisor, opened before its start time is checked, so a signal sent
    /// through it cannot reach a process that took its pid afterwards. `None` when it is gone.
    pub fn supervisor_pidfd(&self) -> Option<std::os::fd::OwnedFd> {
        let pidfd = sys::pidfd_open(Pid::from_raw(self.supervisor)).ok()?;
        self.supervisor_alive().then_some(pidfd)
    }

    pub fn supervisor_alive(&self) -> bool {
        self.this_boot()
            && sys::process_start_time(Pid::from_raw(self.supervisor))
                == Some(self.supervisor_start)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Stopped,
    /// A supervisor holds the lock but PID 1 is not up yet (or is being restarted).
    Starting,
    Running(RuntimeState),
}

fn lock_file(paths: &EnvPaths) -> Result<File, EnvError> {
    let path = paths.lock();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|source| EnvError::Io {
            what: "cannot open",
            path: path.clone(),
            source,
        })?;
    crate::state::check_owned(&file, &path)?;
    Ok(file)
}

/// The supervisor's lock, held for as long as the returned file stays open; `None` when another
/// supervisor holds it.
pub fn take_lock(paths: &EnvPaths) -> Result<Option<File>, EnvError> {
    let file = lock_file(paths)?;
    let taken = sys::ofd_lock(file.as_fd()).map_err(|source| EnvError::Sys {
        what: "cannot lock",
        source,
    })?;
    Ok(taken.then_some(file))
}

/// The state file, if there is one that parses. One that another user could have written is
/// refused: its pids would be signalled.
pub fn read_state(paths: &EnvPaths) -> Result<Option<RuntimeState>, EnvError> {
    // The directory first: the file's own check means little in a directory others can write.
    match crate::state::private_dir(&paths.run, false) {
        Ok(_) => {}
        Err(crate::state::StateError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    }
    let bytes = crate::state::read_private_file(&paths.state(), STATE_LIMIT)?;
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// Create `envs/NAME/run` (0700) for a starting supervisor.
pub fn make_run_dir(paths: &EnvPaths) -> Result<(), EnvError> {
    crate::state::private_dir(&paths.run, true)?;
    Ok(())
}

pub fn write_state(paths: &EnvPaths, state: &RuntimeState) -> Result<(), EnvError> {
    let text = serde_json::to_vec_pretty(state).expect("plain data");
    super::write_atomically(&paths.state(), &text)
}

/// Remove the live state (the supervisor on its way out, or a command cleaning up after a
/// supervisor that died).
pub fn clear(paths: &EnvPaths) {
    let _ = std::fs::remove_dir_all(&paths.run);
}

/// The truth about an environment, cleaning up what a dead supervisor left behind.
pub fn status(paths: &EnvPaths) -> Result<Status, EnvError> {
    if !paths.exists() {
        return Err(EnvError::NotFound {
            name: paths.name.clone(),
        });
    }
    // Holding the lock for a moment proves no supervisor runs, and makes removing a dead
    // supervisor's leftovers safe: a supervisor starting meanwhile waits for the lock.
    if let Some(lock) = take_lock(paths)? {
        clear(paths);
        drop(lock);
        return Ok(Status::Stopped);
    }
    match read_state(paths)? {
        Some(state) if state.init_alive() => Ok(Status::Running(state)),
        _ => Ok(Status::Starting),
    }
}

/// Wait up to `seconds` for `done`, checking every 10 ms.
pub fn wait_for(
    seconds: u64,
    mut done: impl FnMut() -> Result<bool, EnvError>,
) -> Result<bool, EnvError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if done()? {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_believed_only_with_start_time_and_boot_id() {
        let me = Pid::this();
        let start = sys::process_start_time(me).unwrap();
        let state = RuntimeState {
            supervisor: me.as_raw(),
            supervisor_start: start,
            init: me.as_raw(),
            init_start: start,
            since: 0,
            restarts: 0,
            boot_id: boot_id(),
            phase: Phase::Running,
            init_status: None,
            cgroup: None,
        };
        assert!(state.init_alive() && state.supervisor_alive());
        assert!(state.supervisor_pidfd().is_some());
        let reused = RuntimeState {
            init_start: start + 1,
            supervisor_start: start + 1,
            ..state.clone()
        };
        assert!(!reused.init_alive() && !reused.supervisor_alive());
        assert!(reused.supervisor_pidfd().is_none());
        // Written before a reboot: the same pid and start time are another process now.
        let other_boot = RuntimeState {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            ..state.clone()
        };
        assert!(!other_boot.init_alive() && !other_boot.supervisor_alive());
        let unknown_boot = RuntimeState {
            boot_id: String::new(),
            ..state
        };
        assert!(!unknown_boot.init_alive());
    }
}
