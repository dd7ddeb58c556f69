#!/usr/bin/env bash
# Runs the cargo-fuzz targets under fuzz/ for a bounded time each (default 60 s), installing
# what they need when it is missing: a nightly toolchain (rustup) and cargo-fuzz (crates.io).
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh webhook_intake
#
# The seed corpus is the GitHub payload fixtures of ferry-webhook; findings land in
# fuzz/artifacts/<target>/ and make the script fail.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: installing the nightly toolchain (cargo fuzz needs -Zsanitizer)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi

for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  # Seeds: every fixture payload, as a bare signed JSON body under its own event (the control
  # byte picks it: 0 push, 1 pull_request, 2 ping, 3 issues; see the fuzz target).
  for fixture in crates/ferry-webhook/fixtures/github/*.json; do
    name=$(basename "$fixture" .json)
    case $name in
      pull_request.*) control='\x01' ;;
      ping) control='\x02' ;;
      issues.*) control='\x03' ;;
      *) control='\x00' ;;
    esac
    seed="$corpus/seed-$name"
    [ -e "$seed" ] || { printf "$control"; cat "$fixture"; } > "$seed"
  done
  echo "fuzz: $target for ${seconds}s"
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$corpus" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1
done
