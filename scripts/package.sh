#!/usr/bin/env bash
# Build Ferry's Lambda functions for arm64 and collect them where Terraform
# reads them (infra/terraform, var.package_dir): dist/<function>.zip.
#
#   scripts/package.sh                 build every functions/<name>/, collect, check sizes
#   scripts/package.sh plan bake       only these functions
#   scripts/package.sh --no-build      collect and check zips cargo-lambda already built
#
# Each functions/<name>/ is a workspace member whose binary is named <name>;
# cargo-lambda leaves its zip at <target>/lambda/<name>/bootstrap.zip.
# All functions are built by one cargo invocation, so shared crates compile once.
#
# What is missing is installed: cargo-lambda and ziglang from PyPI into a
# virtual environment under $FERRY_TOOLS_DIR (default ~/.cache/ferry), and the
# aarch64-unknown-linux-gnu target with rustup.
#
# Environment: FERRY_DIST_DIR (default <repo>/dist), CARGO_TARGET_DIR,
# FERRY_MAX_ZIP_BYTES (default 4 MiB: every zip must stay under it).

set -euo pipefail

readonly TARGET=aarch64-unknown-linux-gnu
readonly MAX_ZIP_BYTES=${FERRY_MAX_ZIP_BYTES:-$((4 * 1024 * 1024))}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly dist=${FERRY_DIST_DIR:-$repo/dist}
readonly lambda_dir=${CARGO_TARGET_DIR:-$repo/target}/lambda
readonly tools_dir=${FERRY_TOOLS_DIR:-$HOME/.cache/ferry}/cargo-lambda

die() {
    echo "package: $*" >&2
    exit 1
}

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

build=1
functions=()
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*) die "unknown option $arg (see --help)" ;;
        *) functions+=("$arg") ;;
    esac
done

all_functions=0
if ((${#functions[@]} == 0)); then
    all_functions=1
    for manifest in "$repo"/functions/*/Cargo.toml; do
        [[ -e $manifest ]] || continue
        functions+=("$(basename "$(dirname "$manifest")")")
    done
fi
((${#functions[@]} > 0)) || die "no function to package: functions/<name>/Cargo.toml does not exist yet"
for fn in "${functions[@]}"; do
    [[ -f $repo/functions/$fn/Cargo.toml ]] || die "functions/$fn/Cargo.toml does not exist"
done

# cargo-lambda and zig: used as installed when both are there (the release
# workflow pip-installs them), otherwise installed from PyPI into their own
# venv (no system Python is modified, and PEP 668 distributions allow it).
# Then the arm64 Rust target.
ensure_tools() {
    if ! { cargo lambda --version >/dev/null 2>&1 && { command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null; }; }; then
        if [[ ! -x $tools_dir/bin/cargo-lambda ]] || ! "$tools_dir/bin/python3" -c 'import ziglang' 2>/dev/null; then
            echo "package: installing cargo-lambda and ziglang into $tools_dir" >&2
            python3 -m venv "$tools_dir" || die "python3 -m venv failed; install python3-venv"
            "$tools_dir/bin/python3" -m pip install --quiet --disable-pip-version-check cargo-lambda ziglang ||
                die "pip install cargo-lambda ziglang failed"
        fi
        # First on PATH: `cargo lambda` finds cargo-lambda, and cargo-lambda
        # finds zig through this venv's `python3 -m ziglang`.
        export PATH="$tools_dir/bin:$PATH"
    fi

    if ! rustup target list --installed | grep -qx "$TARGET"; then
        echo "package: adding the Rust target $TARGET" >&2
        rustup target add "$TARGET" || die "rustup target add $TARGET failed"
    fi
}

if ((build)); then
    ensure_tools
    bins=()
    for fn in "${functions[@]}"; do
        bins+=(--bin "$fn")
    done
    locked=()
    if [[ ${CI:-} == true ]]; then
        locked=(--locked)
    fi
    (
        cd "$repo"
        set -x
        cargo lambda build --release --arm64 --output-format zip --lambda-dir "$lambda_dir" ${locked[@]+"${locked[@]}"} "${bins[@]}"
    )
fi

mkdir -p "$dist"
if ((all_functions)); then
    rm -f "$dist"/*.zip "$dist"/SHA256SUMS
fi

too_big=()
printf '%-20s %12s  %s\n' FUNCTION SIZE ZIP
for fn in "${functions[@]}"; do
    zip_path=$lambda_dir/$fn/bootstrap.zip
    [[ -f $zip_path ]] || die "$zip_path is missing: did cargo lambda build --bin $fn succeed?"
    cp "$zip_path" "$dist/$fn.zip"
    bytes=$(wc -c <"$dist/$fn.zip")
    bytes=${bytes//[[:space:]]/}
    kib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1024 }')
    printf '%-20s %8s KiB  %s\n' "$fn" "$kib" "${dist#"$repo"/}/$fn.zip"
    if ((bytes > MAX_ZIP_BYTES)); then
        too_big+=("$fn ($bytes bytes)")
    fi
done

(
    cd "$dist"
    zips=()
    for fn in "${functions[@]}"; do
        zips+=("$fn.zip")
    done
    if command -v sha256sum >/dev/null; then
        sha256sum "${zips[@]}" >SHA256SUMS
    else
        shasum -a 256 "${zips[@]}" >SHA256SUMS
    fi
)

if ((${#too_big[@]} > 0)); then
    echo "package: over the $MAX_ZIP_BYTES-byte limit (keep handlers thin; check features and dependencies):" >&2
    printf '  %s\n' "${too_big[@]}" >&2
    exit 1
fi
echo "package: ${#functions[@]} functions in ${dist#"$repo"/}/, each under $MAX_ZIP_BYTES bytes"
