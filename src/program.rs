//! Other programs hutch asks something and reads the answer of (`getsubids`, `systemctl` inside
//! an environment through `hutch exec`): never waited for longer than the caller allows, since
//! a directory service or an environment that does not answer must not hang hutch.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// At most this much of an answer is kept: the programs asked say a few lines, and one inside an
/// environment is the environment's, which could say gigabytes.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// The exit status and standard output (its first [`ANSWER_LIMIT`] bytes) of `command` (stdin
/// and stderr: /dev/null), if it ends within `limit`; past that it is killed and the answer is
/// `None`, as when it cannot start.
pub fn output_within(mut command: Command, limit: Duration) -> Option<(ExitStatus, Vec<u8>)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    // Read while waiting, so that a long answer cannot fill the pipe and stall the program. The
    // thread ends before this returns: the pipe closes when the program exits or is killed.
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut out = Vec::new();
            let kept = (&mut stdout).take(ANSWER_LIMIT).read_to_end(&mut out);
            // Past the limit, the rest is read and dropped, so that the program is not stalled
            // on a full pipe until its time is up.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            kept.map(|_| out)
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let out = reader.join().ok()?.ok()?;
        status.map(|status| (status, out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_hangs_is_killed_and_gives_no_answer() {
        let mut hangs = Command::new("sh");
        hangs.args(["-c", "echo '0: alice 1 2'; exec sleep 60"]);
        let started = Instant::now();
        assert_eq!(output_within(hangs, Duration::from_millis(200)), None);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_long_answer_is_cut() {
        let mut floods = Command::new("sh");
        floods.args(["-c", "head -c 10000000 /dev/zero"]);
        let (status, out) = output_within(floods, Duration::from_secs(5)).unwrap();
        assert!(status.success());
        assert_eq!(out.len() as u64, ANSWER_LIMIT);
    }

    #[test]
    fn the_answer_comes_with_its_status() {
        let mut answers = Command::new("sh");
        answers.args(["-c", "echo degraded; exit 1"]);
        let (status, out) = output_within(answers, Duration::from_secs(5)).unwrap();
        assert_eq!((status.code(), &out[..]), (Some(1), &b"degraded\n"[..]));
    }
}
