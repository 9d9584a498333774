//! An environment's live state: the supervisor's lock and `runtime/NAME/state.json`, and the
//! reconciliation every command does before it believes either.

use std::fs::File;
use std::os::fd::AsFd;

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
}

impl RuntimeState {
    pub fn init_pid(&self) -> Pid {
        Pid::from_raw(self.init)
    }

    /// Whether `init` is still the process this state describes (pids are reused).
    pub fn init_alive(&self) -> bool {
        sys::process_start_time(self.init_pid()) == Some(self.init_start)
    }

    pub fn supervisor_alive(&self) -> bool {
        sys::process_start_time(Pid::from_raw(self.supervisor)) == Some(self.supervisor_start)
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
    let path = paths.dir.join("lock");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| EnvError::Io {
            what: "cannot open",
            path,
            source,
        })
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

pub fn read_state(paths: &EnvPaths) -> Option<RuntimeState> {
    serde_json::from_slice(&std::fs::read(paths.state()).ok()?).ok()
}

pub fn write_state(paths: &EnvPaths, state: &RuntimeState) -> Result<(), EnvError> {
    let text = serde_json::to_vec_pretty(state).expect("plain data");
    super::write_atomically(&paths.state(), &text)
}

/// Remove the runtime directory (the supervisor on its way out, or a command cleaning up after
/// a supervisor that died).
pub fn clear(paths: &EnvPaths) {
    let _ = std::fs::remove_dir_all(&paths.runtime);
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
    match read_state(paths) {
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
