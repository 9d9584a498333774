//! The cgroup v2 limits where they work: `tests/vm/limits.sh` in the qemu guest of
//! `tests/vm/run` (systemd on cgroup v2, a user manager with delegated controllers), as its
//! unprivileged user. The script prints one `ok`/`not ok` line per check and exits with the
//! number of failures.

use std::path::Path;
use std::process::Command;

use super::harness::{stderr, stdout, strict};

#[test]
fn limits_in_the_guest() {
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/run");
    if !run.exists() {
        assert!(!strict(), "tests/vm/run is missing (HUTCH_TEST_STRICT=1)");
        eprintln!("skipping: no tests/vm/run in this checkout");
        return;
    }
    let out = Command::new(&run)
        .env("HUTCH_VM_HUTCH", env!("CARGO_BIN_EXE_hutch"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--", "tests/vm/limits.sh"])
        .output()
        .expect("spawn tests/vm/run");
    match out.status.code() {
        // tests/vm/run has said why on stderr (and fails instead under HUTCH_TEST_STRICT=1).
        Some(77) => eprint!("{}", stderr(&out)),
        Some(0) => {
            let report = stdout(&out);
            assert!(report.contains("# 0 failed"), "{report}");
            assert!(!report.contains("not ok"), "{report}");
        }
        status => panic!(
            "tests/vm/limits.sh: status {status:?}\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        ),
    }
}
