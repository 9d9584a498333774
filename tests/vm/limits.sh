#!/usr/bin/env bash
# cgroup v2 limits where they work: run in the qemu guest as its unprivileged user, from a login
# session (whose scope is not delegated, so hutch asks the user's systemd for a scope itself):
#
#   tests/vm/run -- tests/vm/limits.sh
#
# Each check prints `ok - NAME` or `not ok - NAME` with what it saw; the exit status is the number
# of failed checks (0: all passed). Needs python3 in the guest. What these limits cannot do on a
# cgroup v1 host is tested there by tests/suite/limits.rs.
set -uo pipefail

failed=0
ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    shift
    printf '    %s\n' "$@"
    failed=$((failed + 1))
}

uid=$(id -u)
manager=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service
# Cgroups hutch made (its scopes, launcher and sandbox leaves) anywhere under the user manager.
leftovers() { find "$manager" -type d \( -name 'hutch-*' \) 2>/dev/null; }
# Wait up to 10 s for no cgroup of hutch's to be left (systemd removes a scope once it is empty).
none_left() {
    local _
    for _ in $(seq 100); do
        [ -z "$(leftovers)" ] && return 0
        sleep 0.1
    done
    return 1
}

state=$(mktemp -d)
trap 'hutch --root "$state" rm -f limenv >/dev/null 2>&1; rm -rf "$state"' EXIT
cd "$state" || exit 99

echo "# $(uname -r); $(cat /proc/self/cgroup); hutch $(command -v hutch)"

out=$(hutch check 2>&1 | grep '^ok *cgroup.delegation')
if [[ $out == *"hutch asks your systemd for a delegated scope"*"limits can use: cpu io memory pids" ]]; then
    ok "hutch check: the limits can use cpu io memory pids, through a scope"
else
    not_ok "hutch check: the limits can use cpu io memory pids" "$(hutch check 2>&1 | grep cgroup)"
fi

# --- a one-shot run --------------------------------------------------------------------------
out=$(hutch run --memory 64M -- python3 -c 'x = b"x" * (256 << 20); print("survived")' 2>&1)
status=$?
if [ "$status" = 137 ] && [[ $out == *"memory limit (64.0M)"* ]] && [[ $out != *survived* ]]; then
    ok "256 MiB in a --memory 64M sandbox: status 137 and the reason"
else
    not_ok "256 MiB in a --memory 64M sandbox: status 137 and the reason" "status $status" "$out"
fi

out=$(hutch run --memory 64M -- python3 -c 'x = b"x" * (16 << 20); print(len(x))' 2>&1)
status=$?
if [ "$status" = 0 ] && [ "$out" = 16777216 ]; then
    ok "16 MiB fits in --memory 64M"
else
    not_ok "16 MiB fits in --memory 64M" "status $status" "$out"
fi

out=$(hutch run --memory 64M -- cat /proc/self/cgroup /sys/fs/cgroup/memory.max \
    /sys/fs/cgroup/memory.oom.group 2>&1)
if [ "$out" = "$(printf '0::/\n67108864\n1')" ]; then
    ok "inside: its own cgroup namespace, memory.max and memory.oom.group in /sys/fs/cgroup"
else
    not_ok "inside: its own cgroup namespace, memory.max and memory.oom.group" "$out"
fi

out=$(hutch run --memory 64M -- sh -c 'echo max >/sys/fs/cgroup/memory.max' 2>&1)
status=$?
if [ "$status" != 0 ] && [[ $out == *"Read-only file system"* ]]; then
    ok "a one-shot sandbox cannot raise its own limit (/sys/fs/cgroup read-only)"
else
    not_ok "a one-shot sandbox cannot raise its own limit" "status $status" "$out"
fi

# The 16th task is refused: init and python are two, so 14 forks succeed and the 15th fails.
fork_test='
import errno, os, time
start = int(open("/sys/fs/cgroup/pids.current").read())
kids = []
while True:
    try:
        pid = os.fork()
    except OSError as e:
        print(start, len(kids), errno.errorcode[e.errno])
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.kill(pid, 9)
'
out=$(hutch run --pids 16 -- python3 -c "$fork_test" 2>&1)
read -r start forks why <<<"$out"
if [ "${why:-}" = EAGAIN ] && [ $((start + forks)) = 16 ]; then
    ok "--pids 16 stops the 16th task ($start at start, $forks forks, then EAGAIN)"
else
    not_ok "--pids 16 stops the 16th task" "$out"
fi

out=$(hutch run --cpus 0.5 -- cat /sys/fs/cgroup/cpu.max 2>&1)
if [ "$out" = "50000 100000" ]; then
    ok "--cpus 0.5 is cpu.max 50000 100000 inside"
else
    not_ok "--cpus 0.5 is cpu.max 50000 100000 inside" "$out"
fi

out=$(hutch run --cpu-weight 50 --io-weight 200 --memory-swap 0 -- \
    cat /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/io.weight /sys/fs/cgroup/memory.swap.max 2>&1)
if [ "$out" = "$(printf '50\ndefault 200\n0')" ]; then
    ok "--cpu-weight, --io-weight and --memory-swap reach their files"
else
    not_ok "--cpu-weight, --io-weight and --memory-swap reach their files" "$out"
fi

if none_left; then
    ok "no cgroup left after the runs"
else
    not_ok "no cgroup left after the runs" "$(leftovers)"
fi

# `hutch run --memory 64M -- sleep 300` in the background, as $launcher, once its sandbox has a
# cgroup and sleep runs in it (or 10 s have passed).
start_sleeping_sandbox() {
    hutch run --memory 64M -- sleep 300 &
    launcher=$!
    local _
    for _ in $(seq 100); do
        [ -n "$(find "$manager" -type d -name 'hutch-sandbox-*' 2>/dev/null)" ] &&
            pgrep -u "$uid" -x sleep >/dev/null && break
        sleep 0.1
    done
}

# kill -9 of the launcher: the sandbox dies with it, and so do its cgroups.
start_sleeping_sandbox
seen=$(leftovers)
kill -9 "$launcher"
wait "$launcher" 2>/dev/null
if [ -n "$seen" ] && none_left && ! pgrep -u "$uid" -x sleep >/dev/null; then
    ok "kill -9 of hutch run leaves no process and no cgroup"
else
    not_ok "kill -9 of hutch run leaves no process and no cgroup" "while running: $seen" \
        "after: $(leftovers)" "$(pgrep -u "$uid" -a sleep)"
fi

# hutch waits for the hutch it starts in a scope: a payload's status is its own, even 1, which
# is also systemd-run's status when it fails.
hutch run --memory 64M -- sh -c 'exit 1'
status=$?
if [ "$status" = 1 ]; then
    ok "a payload's status 1 passes through the scope"
else
    not_ok "a payload's status 1 passes through the scope" "status $status"
fi

# A SIGTERM sent to hutch run reaches the payload through the hutch in the scope.
start_sleeping_sandbox
kill -TERM "$launcher"
wait "$launcher"
status=$?
if [ "$status" = 143 ] && none_left && ! pgrep -u "$uid" -x sleep >/dev/null; then
    ok "SIGTERM to hutch run ends the payload (status 143), no cgroup left"
else
    not_ok "SIGTERM to hutch run ends the payload" "status $status" "$(leftovers)" \
        "$(pgrep -u "$uid" -a sleep)"
fi

# A systemd-run that cannot make the scope: hutch's own failure, 125, with what it said.
fake=$(mktemp -d)
printf '#!/bin/sh\necho "Failed to start transient scope unit: Access denied" >&2\nexit 1\n' \
    >"$fake/systemd-run"
chmod +x "$fake/systemd-run"
out=$(PATH="$fake:$PATH" hutch run --memory 64M -- echo payload-ran 2>&1)
status=$?
rm -rf "$fake"
if [ "$status" = 125 ] && [[ $out == *"Access denied"* ]] &&
    [[ $out == *"systemd-run exited with status 1 before it started hutch"* ]] &&
    [[ $out == *"hint:"* ]] && [[ $out != *payload-ran* ]]; then
    ok "a systemd-run that cannot make the scope: status 125 and why"
else
    not_ok "a systemd-run that cannot make the scope: status 125 and why" "status $status" "$out"
fi

# --- an environment ----------------------------------------------------------------------------
h() { hutch --root "$state" "$@"; }
if h create limenv --host --memory 64M --pids 32 && h start limenv; then
    out=$(h exec limenv -- cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>&1)
    if [ "$out" = "$(printf '67108864\n32')" ]; then
        ok "an environment with --memory 64M --pids 32 shows them in its /sys/fs/cgroup"
    else
        not_ok "an environment shows its limits in its /sys/fs/cgroup" "$out"
    fi
    # A command hutch exec runs is in the environment's cgroup too, held to its limits.
    out=$(h exec limenv -- python3 -c "$fork_test" 2>&1)
    read -r start forks why <<<"$out"
    cgroup=$(h exec limenv -- cat /proc/self/cgroup 2>&1)
    if [ "$cgroup" = "0::/" ] && [ "${why:-}" = EAGAIN ] && [ $((start + forks)) = 32 ]; then
        ok "hutch exec runs in the environment's cgroup, under its --pids 32"
    else
        not_ok "hutch exec runs in the environment's cgroup" "$cgroup" "$out"
    fi
    out=$(h status limenv)
    json=$(h status limenv --json)
    if [[ $out == *"memory:    "*" of 64.0M"* ]] && [[ $out == *"tasks:     "*" of 32"* ]] &&
        python3 -c 'import json, sys; u = json.load(sys.stdin)["usage"]; assert u["memory_current"] > 0 and u["memory_max"] == 64 << 20 and u["pids_max"] == 32' <<<"$json"; then
        ok "hutch status shows memory and tasks against the limits"
    else
        not_ok "hutch status shows memory and tasks against the limits" "$out" "$json"
    fi
    out=$(h ls)
    if [[ $(sed -n 2p <<<"$out") =~ ^limenv\ +running\ +host\ +[a-z]+\ +[0-9.]+[KMG] ]]; then
        ok "hutch ls shows its memory use"
    else
        not_ok "hutch ls shows its memory use" "$out"
    fi
    out=$(h update limenv --memory 128M 2>&1 && h exec limenv -- cat /sys/fs/cgroup/memory.max)
    if [[ $out == *"running environment's cgroup"*134217728 ]] &&
        grep -q 'memory = "128M"' "$state/data/envs/limenv/env.toml"; then
        ok "hutch update changes a running environment's limit and its env.toml"
    else
        not_ok "hutch update changes a running environment's limit" "$out"
    fi
    h stop limenv
    if none_left; then
        ok "no cgroup left after hutch stop"
    else
        not_ok "no cgroup left after hutch stop" "$(leftovers)"
    fi
    # kill -9 of the supervisor: PID 1 dies with it, the scope and its cgroups go.
    h start limenv
    supervisor=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["supervisor"])' \
        "$state/data/envs/limenv/run/state.json")
    kill -9 "$supervisor"
    if none_left; then
        ok "no cgroup left after kill -9 of an environment's supervisor"
    else
        not_ok "no cgroup left after kill -9 of an environment's supervisor" "$(leftovers)"
    fi
    out=$(h status limenv)
    if [[ $out == *"status:    stopped"* ]]; then
        ok "the environment is stopped after its supervisor was killed"
    else
        not_ok "the environment is stopped after its supervisor was killed" "$out"
    fi
else
    not_ok "an environment with limits starts" "$(h logs limenv 2>&1 | tail -5)"
fi

echo "# $failed failed"
exit "$failed"
