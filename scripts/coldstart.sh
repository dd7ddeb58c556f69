#!/usr/bin/env bash
# Cold-start benchmark of Ferry's Lambda functions (results in docs/benchmarks.md).
#
#   scripts/coldstart.sh                     build and measure every functions/<name>/
#   scripts/coldstart.sh --runs 50 plan      options and functions go to the harness
#   scripts/coldstart.sh --help              the harness's options
#
# Builds every function binary for the host with the release profile (the one the
# Lambda zips use) plus the harness (benches/coldstart), then runs the harness: each
# function is started against a stand-in Lambda Runtime API on 127.0.0.1 and timed
# from spawn to its first poll; its peak RSS is read before it is killed. Nothing
# leaves the machine. Exits non-zero when a function misses its target.
#
# Environment: CARGO (default cargo), CARGO_TARGET_DIR.

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
cargo=${CARGO:-cargo}

bins=(--bin coldstart)
for manifest in "$repo"/functions/*/Cargo.toml; do
    [[ -e $manifest ]] || continue
    bins+=(--bin "$(basename "$(dirname "$manifest")")")
done
locked=()
if [[ ${CI:-} == true ]]; then
    locked=(--locked)
fi

cd "$repo"
"$cargo" build --release ${locked[@]+"${locked[@]}"} "${bins[@]}"
exec "${CARGO_TARGET_DIR:-$repo/target}/release/coldstart" "$@"
