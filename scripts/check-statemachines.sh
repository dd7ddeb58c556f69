#!/usr/bin/env bash
# Validates every state machine in statemachines/ with asl-validator. Terraform placeholders
# (${...}) are bound to well-formed dummy ARNs first, the way templatefile() would bind them.
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
files=(statemachines/*.json)
if [ ${#files[@]} -eq 0 ]; then
    echo "no state machines yet"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for file in "${files[@]}"; do
    bound="$work/$(basename "$file")"
    sed -E 's/\$\{([a-z0-9_]+)_function_arn\}/arn:aws:lambda:eu-west-1:123456789012:function:ferry-\1/g' "$file" >"$bound"
    if grep -q '\${' "$bound"; then
        echo "$file: placeholder that is not a *_function_arn: $(grep -o '\${[^}]*}' "$bound" | sort -u | tr '\n' ' ')" >&2
        exit 1
    fi
    if ! output=$(node_modules/.bin/asl-validator --json-path "$bound" 2>&1); then
        echo "$file: not valid ASL" >&2
        echo "$output" >&2
        exit 1
    fi
    echo "ok  $file"
done
