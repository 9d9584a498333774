#!/usr/bin/env bash
# hutch-oci's linux.resources on cgroup v2, under rootless podman (its default systemd cgroup
# manager), in the qemu guest as its unprivileged user:
#
#   HUTCH_VM_PACKAGES=podman tests/vm/run -- tests/vm/oci_resources.sh
#
# Each check prints `ok - NAME` or `not ok - NAME` with what it saw; the exit status is the number
# of failed checks (0: all passed). hutch-oci is the one beside the hutch on PATH (this build's).
set -uo pipefail

failed=0
ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    shift
    printf '    %s\n' "$@"
    failed=$((failed + 1))
}

oci=$(dirname "$(readlink -f "$(command -v hutch)")")/hutch-oci
uid=$(id -u)
manager=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service
# The cgroups of containers (not conmon's) under the user manager.
leftovers() {
    find "$manager" -type d -name 'libpod-*.scope' ! -name 'libpod-conmon-*' 2>/dev/null
}
echo "# $(uname -r); $(podman --version); $oci"

# A root file system of busybox and its libraries.
work=$(mktemp -d)
trap 'podman rm -f -t 0 held >/dev/null 2>&1; rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/"
for applet in sh cat dd echo sleep; do
    ln -s busybox "$rootfs/bin/$applet"
done
ldd /bin/busybox | awk '$(NF-1) ~ /^\// { print $(NF-1) } $1 ~ /^\// { print $1 }' |
    while read -r library; do
        mkdir -p "$rootfs/$(dirname "$library")"
        cp -L "$library" "$rootfs/$library"
    done

# podman_run [OPTION]... -- CMD [ARG]...: the root file system's path ends podman's options.
podman_run() {
    local options=()
    while [ "$1" != -- ]; do
        options+=("$1")
        shift
    done
    shift
    podman --runtime "$oci" --events-backend=file run --rm --network none "${options[@]}" \
        --rootfs "$rootfs" "$@"
}
limits=(--memory 64m --pids-limit 32 --cpus 0.5 --cpu-shares 512)

out=$(podman_run "${limits[@]}" -- /bin/sh -c '
    cd /sys/fs/cgroup && cat /proc/self/cgroup memory.max memory.swap.max pids.max cpu.max \
        cpu.weight' 2>&1)
# --memory-swap defaults to twice --memory: 64 MiB of swap on top; shares 512 are weight 59.
expected=$(printf '0::/\n67108864\n67108864\n32\n50000 100000\n59')
if [ "$out" = "$expected" ]; then
    ok "podman run ${limits[*]}: memory.max, memory.swap.max, pids.max, cpu.max, cpu.weight"
else
    not_ok "podman run ${limits[*]}: the limits inside" "expected: $expected" "got: $out"
fi

out=$(podman_run --memory 64m --memory-swap 64m -- /bin/dd if=/dev/zero of=/dev/null bs=256M \
    count=1 2>&1)
status=$?
if [ "$status" = 137 ]; then
    ok "256 MiB in a --memory 64m container: OOM-killed (137)"
else
    not_ok "256 MiB in a --memory 64m container: OOM-killed (137)" "status $status" "$out"
fi

out=$(podman_run --memory 64m -- /bin/dd if=/dev/zero of=/dev/null bs=16M count=1 2>&1)
status=$?
if [ "$status" = 0 ]; then
    ok "16 MiB fits in --memory 64m"
else
    not_ok "16 MiB fits in --memory 64m" "status $status" "$out"
fi

out=$(podman_run --pids-limit 32 -- /bin/sh -c 'echo max >/sys/fs/cgroup/pids.max' 2>&1)
status=$?
if [ "$status" != 0 ] && [[ $out == *"Read-only file system"* ]]; then
    ok "a container cannot raise its own limit (/sys/fs/cgroup read-only)"
else
    not_ok "a container cannot raise its own limit" "status $status" "$out"
fi

# run -d, exec joins the container's cgroup, rm removes it.
podman --runtime "$oci" --events-backend=file run -d --name held --network none \
    --pids-limit 32 --rootfs "$rootfs" /bin/sleep 600 >/dev/null 2>"$work/err" ||
    not_ok "podman run -d" "$(cat "$work/err")"
cgroup=$(leftovers)
out=$(podman --runtime "$oci" exec held /bin/sh -c 'cat /proc/self/cgroup' 2>&1)
procs=$(wc -l <"$cgroup/cgroup.procs" 2>/dev/null)
if [ "$out" = "0::/" ] && [ -n "$cgroup" ] && [ "$(cat "$cgroup/pids.max")" = 32 ]; then
    ok "podman exec: in the container's cgroup ($cgroup, $procs processes)"
else
    not_ok "podman exec: in the container's cgroup" "cgroup: $cgroup" "$out"
fi
podman rm -f -t 0 held >/dev/null 2>&1
sleep 1
if [ -z "$(leftovers)" ]; then
    ok "podman rm -f: the container's cgroup is gone"
else
    not_ok "podman rm -f: the container's cgroup is gone" "$(leftovers)"
fi

# hutch-oci by itself, in a cgroupfs path of a delegated scope: the script below runs in a
# transient scope with Delegate=yes, moves itself into a leaf (cgroup v2 puts no processes in a
# cgroup with enabled controllers) and names a sibling as linux.cgroupsPath.
bundle=$work/bundle
mkdir -p "$bundle"
"$oci" spec --rootless --bundle "$bundle"
ln -s ../rootfs "$bundle/rootfs"
cat >"$work/direct.sh" <<'SCRIPT'
set -u
oci=$1 bundle=$2
scope=$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "/sys/fs/cgroup$scope/self" && echo $$ >"/sys/fs/cgroup$scope/self/cgroup.procs"
python3 - "$bundle/config.json" "$scope/containers/c1" <<'PY'
import json, sys
path, cgroup = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["process"]["args"] = ["sh", "-c", "sleep 600 & sleep 600 & wait"]
config["linux"]["cgroupsPath"] = cgroup
config["linux"]["resources"] = {"memory": {"limit": 33554432}, "pids": {"limit": 16},
                                "cpu": {"shares": 2}}
json.dump(config, open(path, "w"))
PY
dir=/sys/fs/cgroup$scope/containers/c1
root=$(mktemp -d)
"$oci" --root "$root" create --bundle "$bundle" c1 || exit
"$oci" --root "$root" start c1
sleep 0.5
echo "limits: $(cat "$dir/memory.max" "$dir/pids.max" "$dir/cpu.weight" | tr '\n' ' ')"
echo "procs: $(wc -l <"$dir/cgroup.procs")"
"$oci" --root "$root" kill --all c1 KILL
for _ in $(seq 50); do
    [ "$("$oci" --root "$root" state c1 | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')" = stopped ] &&
        break
    sleep 0.1
done
echo "after kill: $(wc -l <"$dir/cgroup.procs")"
"$oci" --root "$root" delete c1
[ -e "$dir" ] && echo "after delete: left" || echo "after delete: gone"
# Below a cgroup that holds a process (this script), no controller can be enabled.
sed -i "s|$scope/containers/c1|$scope/self/c2|" "$bundle/config.json"
"$oci" --root "$root" create --bundle "$bundle" c2 2>&1 | grep -o 'linux.resources.*holds processes' |
    sed 's/:.*(/: (/'
SCRIPT
out=$(systemd-run --user --scope --quiet -p Delegate=yes -- bash "$work/direct.sh" "$oci" \
    "$bundle" 2>&1)
expected=$(printf '%s\n' 'limits: 33554432 16 1 ' 'procs: 3' 'after kill: 0' 'after delete: gone' \
    'linux.resources.memory.limit` is not supported by hutch-oci: (it holds processes')
if [ "$out" = "$expected" ]; then
    ok "hutch-oci in a delegated scope: a cgroupfs path, limits, kill --all, delete;$(
        ) a path below a cgroup with processes is refused by name"
else
    not_ok "hutch-oci in a delegated scope: a cgroupfs path, limits, kill --all, delete" \
        "expected: $expected" "got: $out"
fi

# podman's cgroupfs manager: rootless, it names a cgroup only when given --cgroup-parent (here
# one in a delegated scope, prepared as above); without one, a limit is refused by name.
cat >"$work/cgroupfs.sh" <<'SCRIPT'
set -u
oci=$1 rootfs=$2
scope=$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "/sys/fs/cgroup$scope/self" "/sys/fs/cgroup$scope/containers"
echo $$ >"/sys/fs/cgroup$scope/self/cgroup.procs"
podman --cgroup-manager=cgroupfs --events-backend=file --runtime "$oci" run --rm --network none \
    --cgroup-parent="$scope/containers" --memory 64m --pids-limit 32 --rootfs "$rootfs" \
    /bin/sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
echo "left: $(find "/sys/fs/cgroup$scope/containers" -mindepth 1 -type d | wc -l)"
SCRIPT
out=$(systemd-run --user --scope --quiet -p Delegate=yes -- bash "$work/cgroupfs.sh" "$oci" \
    "$rootfs" 2>&1)
expected=$(printf '%s\n' '0::/' 67108864 32 'left: 0')
if [ "$out" = "$expected" ]; then
    ok "podman --cgroup-manager=cgroupfs --cgroup-parent: limits applied, cgroup removed"
else
    not_ok "podman --cgroup-manager=cgroupfs --cgroup-parent" "expected: $expected" "got: $out"
fi
out=$(podman --cgroup-manager=cgroupfs --events-backend=file --runtime "$oci" run --rm \
    --network none --memory 64m --rootfs "$rootfs" /bin/true 2>&1)
status=$?
refusal="linux.resources.memory.limit\` is not supported by hutch-oci: limits need a cgroup"
if [ "$status" != 0 ] && [[ $out == *"$refusal, and linux.cgroupsPath names none"* ]]; then
    ok "podman --cgroup-manager=cgroupfs without a cgroup: --memory refused by name"
else
    not_ok "podman --cgroup-manager=cgroupfs without a cgroup: --memory refused by name" \
        "status $status" "$out"
fi

echo "# $failed failed"
exit "$failed"
