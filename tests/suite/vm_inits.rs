//! Distributions' own inits booting in environments, in the qemu guest of `tests/vm/run`
//! (Debian's kernel, cgroup v2, a user manager delegating cgroups), made by its unprivileged
//! user from Debian bookworm root file systems that `tests/vm/rootfs` builds on the host.

use std::path::PathBuf;
use std::process::Command;

use super::harness::{stderr, stdout};
use super::vm::{guest_sh, section};

/// The tarball `tests/vm/rootfs NAME` builds (or has cached); None when it skips (it has
/// printed `skipping:`; under HUTCH_TEST_STRICT=1 it fails instead, and so does this).
pub(super) fn rootfs(name: &str) -> Option<PathBuf> {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vm/rootfs"))
        .arg(name)
        .output()
        .expect("spawn tests/vm/rootfs");
    match out.status.code() {
        Some(0) => Some(PathBuf::from(stdout(&out).trim())),
        Some(77) => {
            eprint!("{}", stderr(&out));
            None
        }
        status => panic!(
            "tests/vm/rootfs {name}: status {status:?}\n{}",
            stderr(&out)
        ),
    }
}

/// Prints `STATUS INIT_PID RESTARTS` of environment `$1`.
const STATE: &str = r#"state() {
    hutch status "$1" --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["status"], d["init_pid"], d["restarts"])'
}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
"#;

/// Debian bookworm with systemd-sysv, as a new user would run it: it boots to `running`
/// (`hutch start` returns once systemd says READY=1), on a cgroup2 of its own and a read-only
/// sysfs; `hutch status` says `degraded` while a unit has failed; a service enabled inside runs after `hutch restart` and one disabled does not;
/// `systemctl reboot` inside brings it back; `hutch stop` shuts it down cleanly, with systemd's
/// shutdown on the console, within 10 s.
#[test]
fn systemd_boots_restarts_reboots_and_stops_in_the_guest() {
    let Some(tarball) = rootfs("systemd") else {
        return;
    };
    let script = format!(
        r#"{STATE}
        hutch image import {tarball} --name bookworm >/dev/null 2>&1 || echo "import failed"
        hutch create sd --image bookworm --init system --net none
        echo "--- start"; t0=$(date +%s%N); hutch start sd 2>&1 & start=$!
        seen=
        while kill -0 $start 2>/dev/null; do
            [ "$(state sd | cut -d' ' -f1)" = booting ] && seen=booting
            sleep 0.2
        done
        wait $start; echo "status $?"
        echo "--- boot ms"; ms $t0
        echo "--- while booting"; echo "$seen"
        echo "--- state"; state sd; hutch status sd | grep "^init says:"
        echo "--- is-system-running"; hutch exec sd -- timeout 120 systemctl is-system-running --wait
        echo "--- failed units"; hutch exec sd -- systemctl --failed --no-legend --plain
        echo "--- degraded"
        hutch exec sd -- systemd-run --quiet --unit=hutch-broken false
        for i in $(seq 50); do
            [ "$(hutch exec sd -- systemctl is-active hutch-broken)" = failed ] && break
            sleep 0.2
        done
        hutch status sd | grep "^status:"
        hutch exec sd -- systemctl reset-failed
        hutch status sd | grep "^status:"
        echo "--- machine"
        hutch exec sd -- stat -f -c %T /sys/fs/cgroup
        hutch exec sd -- cat /proc/1/cgroup
        hutch exec sd -- grep -E -o " /sys sysfs [a-z]+" /proc/mounts
        echo "$(hutch exec sd -- cat /run/systemd/container)"
        hutch exec sd -- test -s /etc/machine-id && echo machine-id
        echo "--- enter"
        echo 'echo "$BASH $(id -un)" >/root/shell' | hutch enter sd
        hutch exec sd -- cat /root/shell
        echo "--- disabled"
        hutch exec sd -- systemctl disable --now cron >/dev/null 2>&1
        hutch restart sd 2>&1; echo "status $?"
        hutch exec sd -- systemctl is-active cron
        echo "--- enabled"
        hutch exec sd -- systemctl enable cron >/dev/null 2>&1
        hutch restart sd 2>&1; echo "status $?"
        hutch exec sd -- systemctl is-active cron
        echo "--- reboot"
        before=$(state sd | cut -d' ' -f2)
        hutch exec sd -- systemctl reboot >/dev/null 2>&1
        for i in $(seq 180); do
            set -- $(state sd)
            [ "$1" = running ] && [ "$2" != "$before" ] && break
            sleep 1
        done
        state sd | cut -d' ' -f1,3
        hutch exec sd -- systemctl is-system-running --wait
        echo "--- stop"; t0=$(date +%s%N); hutch stop sd 2>&1; echo "status $?"
        echo "--- stop ms"; ms $t0
        echo "--- after stop"; state sd | cut -d' ' -f1
        echo "--- console"
        hutch logs sd | sed -n '/asking PID 1 (systemd) to stop/,$p' |
            grep -E -o 'asking PID 1.*|Stopped target multi-user.target|Reached target umount.target|environment sd stopped.*'
        "#,
        tarball = tarball.display()
    );
    let Some(out) = guest_sh(&script) else {
        return;
    };
    let text = stdout(&out);
    let context = format!("{text}\nstderr:\n{}", stderr(&out));
    assert_eq!(section(&text, "start"), "status 0", "{context}");
    let boot_ms: u64 = section(&text, "boot ms").parse().expect("a number");
    eprintln!("systemd environment: start -> booted (READY=1) in {boot_ms} ms");
    assert_eq!(
        section(&text, "while booting"),
        "booting",
        "`hutch status` says booting until READY=1: {context}"
    );
    let state = section(&text, "state");
    assert!(
        state.starts_with("running ") && state.ends_with("\ninit says: Ready."),
        "`hutch start` returns once booted: {context}"
    );
    assert_eq!(section(&text, "is-system-running"), "running", "{context}");
    assert_eq!(section(&text, "failed units"), "", "{context}");
    assert_eq!(
        section(&text, "degraded"),
        "status:    degraded\nstatus:    running",
        "a failed unit makes it degraded, until systemd forgets it: {context}"
    );
    // systemd saw container=hutch: it wrote /run/systemd/container.
    assert_eq!(
        section(&text, "machine"),
        "cgroup2fs\n0::/init.scope\n /sys sysfs ro\nhutch\nmachine-id",
        "{context}"
    );
    assert_eq!(
        section(&text, "enter"),
        "/bin/bash root",
        "root's login shell from the image's passwd: {context}"
    );
    assert_eq!(
        section(&text, "disabled"),
        "status 0\ninactive",
        "{context}"
    );
    assert_eq!(section(&text, "enabled"), "status 0\nactive", "{context}");
    assert_eq!(
        section(&text, "reboot"),
        "running 3\nrunning",
        "`systemctl reboot` brings it back (a third restart): {context}"
    );
    assert_eq!(section(&text, "stop"), "status 0", "{context}");
    let stop_ms: u64 = section(&text, "stop ms").parse().expect("a number");
    assert!(stop_ms < 10_000, "stop took {stop_ms} ms: {context}");
    assert_eq!(section(&text, "after stop"), "stopped", "{context}");
    let console = section(&text, "console");
    for line in [
        "asking PID 1 (systemd) to stop with SIGRTMIN+3",
        "Stopped target multi-user.target",
        "Reached target umount.target",
        "environment sd stopped",
    ] {
        assert!(console.contains(line), "no {line:?} in: {context}");
    }
}
