//! OCI hooks (runtime-spec, "POSIX-platform Hooks"): programs the engine names, run by the
//! runtime at points of the container's life with the container's state (JSON) on standard
//! input, in the runtime's namespaces.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::config::HookPlan;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{stage} hook {path}: cannot start it")]
    Spawn {
        stage: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{stage} hook {path}: {status}{}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        stage: &'static str,
        path: String,
        status: String,
        stderr: String,
    },
    #[error("{stage} hook {path}: still running after {seconds} s (its timeout); killed")]
    TimedOut {
        stage: &'static str,
        path: String,
        seconds: u64,
    },
}

/// Run `hooks` one after another; the first failure stops the rest.
pub fn run_all(
    stage: &'static str,
    hooks: &[HookPlan],
    state: &serde_json::Value,
) -> Result<(), HookError> {
    let input = serde_json::to_vec(state).expect("a state document serialises");
    for hook in hooks {
        run(stage, hook, &input)?;
    }
    Ok(())
}

fn run(stage: &'static str, hook: &HookPlan, input: &[u8]) -> Result<(), HookError> {
    let path = hook.path.display().to_string();
    let mut command = Command::new(&hook.path);
    // args[0] is the program's name as it sees it.
    if let Some((first, rest)) = hook.args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut command, first);
        command.args(rest);
    }
    command.env_clear();
    for entry in &hook.env {
        if let Some((key, value)) = entry.split_once('=') {
            command.env(key, value);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HookError::Spawn {
            stage,
            path: path.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input is no failure.
        let _ = stdin.write_all(input);
    }
    let deadline = hook
        .timeout
        .map(|s| (s, Instant::now() + Duration::from_secs(s)));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if status.success() {
                    return Ok(());
                }
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(HookError::Failed {
                    stage,
                    path,
                    status: status.to_string(),
                    stderr: stderr.trim().to_owned(),
                });
            }
            Ok(None) => {}
            Err(source) => {
                return Err(HookError::Spawn {
                    stage,
                    path,
                    source,
                })
            }
        }
        if let Some((seconds, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::TimedOut {
                    stage,
                    path,
                    seconds,
                });
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
