//! The cgroup v2 limits where they work: `tests/vm/limits.sh` in the qemu guest of
//! `tests/vm/run` (systemd on cgroup v2, a user manager with delegated controllers), as its
//! unprivileged user. The script prints one `ok`/`not ok` line per check and exits with the
//! number of failures.

use super::harness::{stderr, stdout};
use super::vm::guest_sh;

#[test]
fn limits_in_the_guest() {
    // None: tests/vm/run has said why on stderr (and fails instead under HUTCH_TEST_STRICT=1).
    let Some(out) = guest_sh("tests/vm/limits.sh") else {
        return;
    };
    let report = stdout(&out);
    assert!(
        out.status.success() && report.contains("# 0 failed") && !report.contains("not ok"),
        "tests/vm/limits.sh: {}\nstdout:\n{report}\nstderr:\n{}",
        out.status,
        stderr(&out)
    );
}
