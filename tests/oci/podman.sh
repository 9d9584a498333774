#!/bin/sh
# Rootless podman with hutch-oci as its runtime: each check prints PASS or FAIL and what it ran.
# `cargo test --test all oci_podman` runs it as the unprivileged test user, with a podman of its
# own (HOME, XDG_* and TMPDIR in a temporary directory) and docs/oci/containers.conf.
# By hand (as the unprivileged user, with podman installed and a busybox image imported):
#   HUTCH_OCI=/path/to/hutch-oci IMAGE=localhost/busybox:local tests/oci/podman.sh
# Build the image from Debian's busybox-static without a registry:
#   mkdir -p img/bin img/etc && cp /bin/busybox img/bin/ && (cd img/bin && for a in $(./busybox --list); do ln -sf busybox "$a"; done)
#   tar -C img -cf busybox.tar . && podman import busybox.tar localhost/busybox:local
set -u
: "${HUTCH_OCI:?path to hutch-oci}"
IMAGE=${IMAGE:-localhost/busybox:local}
# "^@" (a NUL echoed by the terminal as podman attaches) appears with runc too; it is dropped.
podman() { command podman --cgroup-manager=cgroupfs --events-backend=file --runtime "$HUTCH_OCI" "$@"; }
pass=0 fail=0
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "PASS $1"; else fail=$((fail+1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
out=$(podman run --rm "$IMAGE" echo hello 2>&1); check "run --rm" hello "$out"
podman run --rm "$IMAGE" sh -c 'exit 42' >/dev/null 2>&1; check "exit status passed through" 42 $?
podman run --rm "$IMAGE" no-such-program >/dev/null 2>&1; check "missing program: 127" 127 $?
out=$(podman run --rm --hostname hutchbox "$IMAGE" hostname 2>&1); check "--hostname" hutchbox "$out"
dir=$(mktemp -d); echo data > "$dir/f"
out=$(podman run --rm -v "$dir:/mnt" "$IMAGE" cat /mnt/f 2>&1); check "-v bind read" data "$out"
podman run --rm -v "$dir:/mnt" "$IMAGE" sh -c 'echo w > /mnt/g' >/dev/null 2>&1; check "-v bind write" w "$(cat "$dir/g" 2>/dev/null)"
out=$(podman run --rm -v "$dir:/mnt:ro" "$IMAGE" sh -c 'echo w > /mnt/h' 2>&1); check "-v :ro refuses writes" "sh: can't create /mnt/h: Read-only file system" "$out"
out=$(podman run --rm --read-only "$IMAGE" sh -c 'echo x > /x' 2>&1); check "--read-only" "sh: can't create /x: Read-only file system" "$out"
out=$(podman run --rm "$IMAGE" sh -c 'grep CapEff /proc/self/status' 2>&1)
out2=$(podman run --rm --cap-drop all "$IMAGE" sh -c 'grep CapEff /proc/self/status' 2>&1)
check "--cap-drop all" "CapEff:	0000000000000000" "$out2"
echo "  (default: $out)"
prof=$(mktemp); printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' > "$prof"
out=$(podman run --rm --security-opt seccomp="$prof" "$IMAGE" mkdir /tmp/d 2>&1); check "--security-opt seccomp=PROFILE" "mkdir: can't create directory '/tmp/d': Operation not permitted" "$out"
id=$(podman run -d "$IMAGE" sleep 1000 2>&1)
check "run -d: running" running "$(podman inspect -f '{{.State.Status}}' "$id" 2>&1)"
out=$(podman exec "$id" sh -c 'echo in; exit 3' 2>&1); st=$?; check "exec output" in "$out"; check "exec status" 3 $st
out=$(script -qec "podman --cgroup-manager=cgroupfs --events-backend=file --runtime $HUTCH_OCI exec -it $id tty" /dev/null 2>&1 | tr -d '\r' | sed 's/^\^@//'); check "exec -it (console socket)" /dev/pts/0 "$out"
podman kill "$id" >/dev/null 2>&1; podman wait "$id" >/dev/null 2>&1
check "kill" exited "$(podman inspect -f '{{.State.Status}}' "$id" 2>&1)"
podman rm "$id" >/dev/null 2>&1; check "rm" 0 $?
id=$(podman run -d "$IMAGE" sh -c 'exit 9' 2>&1); podman wait "$id" >/dev/null 2>&1
check "inspect: exit code" "exited 9" "$(podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id" 2>&1)"
podman rm "$id" >/dev/null 2>&1
id=$(podman run -d "$IMAGE" sleep 1000 2>&1)
podman stop -t 2 "$id" >/dev/null 2>&1; check "stop" exited "$(podman inspect -f '{{.State.Status}}' "$id" 2>&1)"
podman rm -f "$id" >/dev/null 2>&1
# The program lingers after its output: podman 4.3 + conmon 2.1.6 lose the output of a terminal
# whose program exits at once (`run -it IMAGE tty`: 3 runs in 10 print nothing, with runc too).
out=$(script -qec "podman --cgroup-manager=cgroupfs --events-backend=file --runtime $HUTCH_OCI run --rm -it $IMAGE sh -c 'tty; sleep 1'" /dev/null 2>&1 | tr -d '\r' | sed 's/^\^@//'); check "run -it" /dev/pts/0 "$out"
rm -rf "$dir" "$prof"
echo "passed $pass, failed $fail"
[ "$fail" = 0 ]
