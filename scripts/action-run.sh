#!/usr/bin/env bash
# The run step of hutch's GitHub Action (action.yml): HUTCH_SCRIPT in a sandbox with the
# profile HUTCH_PROFILE; with HUTCH_ALLOW_HOSTS (the `allow-hosts` input: names separated by
# spaces, commas or newlines) the sandbox gets a network of its own (--net pasta) that reaches
# those names only (--allow-host each). Inputs arrive as environment variables, never pasted
# into a script.
set -euo pipefail

profile=${HUTCH_PROFILE:-ci}
script=${HUTCH_SCRIPT:?HUTCH_SCRIPT is empty: nothing to run}
args=(run --profile "$profile")
read -r -a hosts <<<"$(tr ',\n' '  ' <<<"${HUTCH_ALLOW_HOSTS:-}")"
if [ "${#hosts[@]}" -gt 0 ]; then
    args+=(--net pasta)
    for host in "${hosts[@]}"; do
        args+=(--allow-host "$host")
    done
fi
exec hutch "${args[@]}" -- bash --noprofile --norc -eo pipefail -c "$script"
