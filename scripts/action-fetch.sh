#!/usr/bin/env bash
# The first step of hutch's GitHub Action (action.yml): decide where this job's hutch comes
# from, before anything is built.
#
# - A release binary, when the repository publishes one for the runner's architecture at the
#   action's ref: HUTCH_RELEASE_URL is the pattern ({repository}, {ref}, {arch} are filled in;
#   default: this repository's GitHub release assets, hutch-x86_64-linux / hutch-aarch64-linux).
#   It is used only when its checksum matches: HUTCH_RELEASE_SHA256 (the action's
#   `release-sha256` input, a pin the user controls) or else the release's own URL.sha256. A
#   checksum that does not match fails the job; a release without a checksum is not used.
# - Otherwise a build from the action's source (scripts/action-setup.sh), whose cargo target
#   and registry actions/cache keeps under the key written here: the action's commit when it is
#   used at one, else a digest of the sources that the ref names (a tag or a branch moves; the
#   digest is what a commit is).
#
# Writes `source=release|build`, `binary=PATH` (release) and `key=...` to $GITHUB_OUTPUT.
set -euo pipefail

repo=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
action_ref=${HUTCH_ACTION_REF:-}
action_repository=${HUTCH_ACTION_REPOSITORY:-}
pattern=${HUTCH_RELEASE_URL:-}
pin=${HUTCH_RELEASE_SHA256:-}
output=${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a GitHub Actions step}
download=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/hutch-release

if [ "${RUNNER_OS:-Linux}" != Linux ]; then
    echo "::error::hutch runs on Linux only; use an ubuntu-* runner" >&2
    exit 1
fi
case ${RUNNER_ARCH:-X64} in
X64) arch=x86_64 ;;
ARM64) arch=aarch64 ;;
*) arch="" ;;
esac

# The cache key of a build: the commit, or the digest of what a build reads.
if [[ $action_ref =~ ^[0-9a-f]{40}$ ]]; then
    source_id=$action_ref
else
    inputs=()
    for path in Cargo.toml Cargo.lock build.rs link src profiles .cargo; do
        [ ! -e "$repo/$path" ] || inputs+=("$path")
    done
    source_id=$(cd "$repo" && find "${inputs[@]}" -type f | LC_ALL=C sort |
        xargs sha256sum | sha256sum | cut -c1-40)
fi
echo "key=hutch-build-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-$source_id" >>"$output"

build() {
    echo "$1; hutch is built from source"
    echo "source=build" >>"$output"
    exit 0
}

[ -n "$arch" ] || build "no release binaries for ${RUNNER_ARCH:-?} runners"
[ -n "$action_ref" ] || build "the action's ref is unknown"
if [ -z "$pattern" ]; then
    [ -n "$action_repository" ] || build "the action's repository is unknown"
    pattern="https://github.com/{repository}/releases/download/{ref}/hutch-{arch}-linux"
fi
url=${pattern//\{repository\}/$action_repository}
url=${url//\{ref\}/$action_ref}
url=${url//\{arch\}/$arch}

rm -rf "$download"
mkdir -p "$download"
binary=$download/hutch
if ! curl -fsSL --retry 2 -o "$binary" "$url" 2>"$download/error"; then
    build "no release binary at $url ($(tr -d '\n' <"$download/error"))"
fi
if [ -n "$pin" ]; then
    expected=$pin
    from="the release-sha256 input"
elif curl -fsSL --retry 2 -o "$download/sha256" "$url.sha256" 2>/dev/null; then
    expected=$(cut -d' ' -f1 <"$download/sha256")
    from="$url.sha256"
else
    rm -f "$binary"
    build "the release binary at $url has no checksum ($url.sha256)"
fi
actual=$(sha256sum "$binary" | cut -d' ' -f1)
if [ "${expected,,}" != "$actual" ]; then
    rm -f "$binary"
    echo "::error::the release binary at $url does not match its checksum from $from (expected $expected, got $actual)" >&2
    exit 1
fi
chmod 0755 "$binary"
echo "release binary $url, sha256 $actual (verified against $from)"
echo "source=release" >>"$output"
echo "binary=$binary" >>"$output"
