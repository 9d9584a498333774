#!/usr/bin/env bash
# bench/inits-vm.sh [RUNS]
#
# Boot time of a distribution's own init in an environment: Debian bookworm with systemd-sysv
# (the root file system tests/vm/rootfs builds), from `hutch start` until systemd is up. Runs in
# the guest of tests/vm/run, as its unprivileged user (Debian's kernel, cgroup v2, delegation):
#
#   tests/vm/rootfs systemd && tests/vm/run -- bench/inits-vm.sh 5
#   tests/vm/rootfs systemd && HUTCH_VM_PACKAGES=podman tests/vm/run -- bench/inits-vm.sh 5
#
# The second also times rootless podman (`podman run --systemd=always`) on the same root file
# system, where the guest has podman. One line per run, then the medians:
#   hutch  START_MS RUNNING_MS STOP_MS
# START_MS: until `hutch start` returns (systemd's READY=1); RUNNING_MS: until
# `systemctl is-system-running --wait` inside says running (one exec); STOP_MS: `hutch stop`.
# podman's START_MS is until `podman run -d` returns (it does not wait for the boot). A run's
# output is kept in bench/inits-vm.txt and its medians in bench/elsewhere.md.
set -euo pipefail

runs=${1:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tarball=$(find "$here/target/vm/rootfs" -name 'systemd-*.tar' | head -n 1)
[ -n "$tarball" ] || { echo "bench/inits-vm.sh: run tests/vm/rootfs systemd first" >&2; exit 2; }
root=$(mktemp -d)
trap 'hutch --root "$root" rm -f sd >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
h() { hutch --root "$root" "$@"; }
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
results=$(mktemp)
# Until systemd's private socket is there (podman's run returns before), then until it is up.
running='until [ -S /run/systemd/private ]; do sleep 0.05; done; systemctl is-system-running --wait'

h image import "$tarball" --name bookworm >/dev/null 2>&1
h create sd --image bookworm --init system --net none
for i in $(seq 0 "$runs"); do
    t0=$(now)
    h start sd
    t1=$(now)
    state=$(h exec sd -- sh -c "$running")
    t2=$(now)
    h stop sd
    t3=$(now)
    [ "$state" = running ] || { echo "run $i: systemd says $state" >&2; exit 1; }
    # Run 0 warms the caches up.
    [ "$i" = 0 ] || echo "hutch $(ms "$t0" "$t1") $(ms "$t0" "$t2") $(ms "$t2" "$t3")" | tee -a "$results"
done

if command -v podman >/dev/null; then
    podman import "$tarball" localhost/bench-bookworm >/dev/null
    for i in $(seq 0 "$runs"); do
        t0=$(now)
        id=$(podman run -d --systemd=always --network none localhost/bench-bookworm /sbin/init)
        t1=$(now)
        state=$(podman exec "$id" sh -c "$running" || true)
        t2=$(now)
        podman stop -t 10 "$id" >/dev/null
        t3=$(now)
        podman rm "$id" >/dev/null
        [ "$state" = running ] || echo "podman run $i: systemd says $state" >&2
        [ "$i" = 0 ] || echo "podman $(ms "$t0" "$t1") $(ms "$t0" "$t2") $(ms "$t2" "$t3")" | tee -a "$results"
    done
    podman rmi localhost/bench-bookworm >/dev/null
else
    echo "podman: not in this guest (HUTCH_VM_PACKAGES=podman)"
fi

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *times = line.split()
    rows.setdefault(name, []).append([int(t) for t in times])
print("median over %s runs (ms): start, start->running, stop" % {k: len(v) for k, v in rows.items()})
for name, runs in rows.items():
    print(name, *(statistics.median(col) for col in zip(*runs)))
PY
rm -f "$results"
