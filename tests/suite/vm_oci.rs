//! hutch-oci's `linux.resources` where cgroup v2 works: `tests/vm/oci_resources.sh` in the qemu
//! guest of `tests/vm/run` with podman added (rootless, its default systemd cgroup manager), as
//! the guest's unprivileged user. The script prints one `ok`/`not ok` line per check and exits
//! with the number of failures.

use super::harness::{stderr, stdout};
use super::vm::guest_sh_with;

#[test]
fn podman_limits_through_hutch_oci_in_the_guest() {
    // The hutch-oci beside the hutch on the guest's PATH is this build's.
    let _ = env!("CARGO_BIN_EXE_hutch-oci");
    // None: tests/vm/run has said why on stderr (and fails instead under HUTCH_TEST_STRICT=1).
    let Some(out) = guest_sh_with("tests/vm/oci_resources.sh", "podman") else {
        return;
    };
    let report = stdout(&out);
    assert!(
        out.status.success() && report.contains("# 0 failed") && !report.contains("not ok"),
        "tests/vm/oci_resources.sh: {}\nstdout:\n{report}\nstderr:\n{}",
        out.status,
        stderr(&out)
    );
}
