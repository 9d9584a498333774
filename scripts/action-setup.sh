#!/usr/bin/env bash
# The set-up step of hutch's GitHub Action (action.yml at the repository root), run on the
# runner as its ordinary user (with passwordless sudo): install hutch as /usr/local/bin/hutch —
# the release binary scripts/action-fetch.sh downloaded and verified (HUTCH_BINARY), or else a
# build from this repository whose cargo target directory (HUTCH_CACHE_DIR/target, kept by
# actions/cache) makes a rebuild of the same commit quick — install the host tools it uses, let
# it create user namespaces where Ubuntu's AppArmor restriction is on (ubuntu-24.04 runners),
# and run `hutch check` so that a host that cannot run sandboxes fails here, with the fix.
#
# HUTCH_INSTALL_DIR: where hutch goes (default /usr/local/bin, the path contrib/apparmor/hutch
# attaches to); another directory is added to the job's PATH ($GITHUB_PATH).
#
# HUTCH_USERNS_FIX (the action's `userns-fix` input): `profile` (default) installs
# contrib/apparmor/hutch, which grants `userns` to hutch alone; `sysctl` sets
# kernel.apparmor_restrict_unprivileged_userns=0 for the whole runner; `none` changes nothing.
set -euo pipefail

repo=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
fix=${HUTCH_USERNS_FIX:-profile}
# Root-owned, and the path contrib/apparmor/hutch attaches to.
install_dir=${HUTCH_INSTALL_DIR:-/usr/local/bin}
bin=$install_dir/hutch
release_binary=${HUTCH_BINARY:-}
cache=${HUTCH_CACHE_DIR:-$HOME/.cache/hutch-action}
restriction=/proc/sys/kernel/apparmor_restrict_unprivileged_userns

case $fix in
profile | sysctl | none) ;;
*)
    echo "::error::userns-fix must be profile, sysctl or none, not '$fix'" >&2
    exit 1
    ;;
esac
if [ "$(uname -s)" != Linux ]; then
    echo "::error::hutch runs on Linux only; use an ubuntu-* runner" >&2
    exit 1
fi

echo "::group::Install uidmap and passt"
# uidmap: newuidmap/newgidmap for id ranges; passt: pasta for user-mode networking.
if command -v apt-get >/dev/null; then
    sudo apt-get update -qq
    packages=(uidmap)
    # passt is packaged from Ubuntu 23.04 and Debian 12 on.
    if apt-cache show passt >/dev/null 2>&1; then
        packages+=(passt)
    else
        echo "::warning::passt is not packaged for this distribution; hutch runs without pasta"
    fi
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}"
else
    echo "::warning::no apt-get on this runner: install uidmap and passt (pasta) yourself"
fi
echo "::endgroup::"

if [ -n "$release_binary" ]; then
    echo "::group::Install the release binary"
    # scripts/action-fetch.sh checked it against its checksum.
    sudo install -D -m 0755 "$release_binary" "$bin"
else
    echo "::group::Build and install hutch"
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    # The target directory outlives the job in actions/cache, keyed by the action's commit.
    mkdir -p "$cache"
    CARGO_TARGET_DIR=$cache/target cargo install --locked --path "$repo" --root "$build"
    sudo install -D -m 0755 "$build/bin/hutch" "$bin"
fi
if [ "$install_dir" != /usr/local/bin ] && [ -n "${GITHUB_PATH:-}" ]; then
    echo "$install_dir" >>"$GITHUB_PATH"
fi
echo "::endgroup::"

if [ -e "$restriction" ] && [ "$(cat "$restriction")" != 0 ]; then
    echo "::group::Let hutch create user namespaces ($fix)"
    case $fix in
    profile)
        if ! command -v apparmor_parser >/dev/null; then
            echo "::error::AppArmor restricts user namespaces, but apparmor_parser is missing; use userns-fix: sysctl" >&2
            exit 1
        fi
        sudo install -m 0644 "$repo/contrib/apparmor/hutch" /etc/apparmor.d/hutch
        sudo apparmor_parser -r /etc/apparmor.d/hutch
        ;;
    sysctl)
        sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
        ;;
    none)
        echo "AppArmor restricts user namespaces here; userns-fix: none leaves it so"
        ;;
    esac
    echo "::endgroup::"
fi

echo "::group::hutch check"
if ! "$bin" check; then
    echo "::endgroup::"
    echo "::error::hutch cannot run sandboxes on this runner; the failed checks above say why" >&2
    exit 1
fi
echo "::endgroup::"
