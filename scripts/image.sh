#!/usr/bin/env bash
# Build the web UI's container image (infra/container/Dockerfile) for Fargate ARM64.
#
#   scripts/image.sh               build ferry-ui, stage dist/ui/, build the image
#   scripts/image.sh --no-build    stage and build from a ferry-ui binary already built
#   scripts/image.sh --push        build, then push FERRY_UI_IMAGE (log in to the registry first)
#
# The binary is static (no libc in a FROM scratch image):
#   cargo zigbuild --release --target aarch64-unknown-linux-musl -p ferry-ui
# cargo-zigbuild and ziglang are installed from PyPI into a virtual environment under
# $FERRY_TOOLS_DIR (default ~/.cache/ferry) when missing, as scripts/package.sh installs
# cargo-lambda; rustup adds the target.
#
# The context, dist/ui/: ferry-ui and ca-certificates.crt (the host's bundle). The image:
# buildah bud --platform linux/arm64 when buildah is installed, else docker buildx build
# --platform linux/arm64; with neither, the context stays staged and the command to run is
# printed. The Dockerfile only copies files, so an x86_64 host builds the arm64 image
# without emulation.
#
# Environment: FERRY_UI_IMAGE (default localhost/ferry-ui:<workspace version>),
# FERRY_DIST_DIR (default <repo>/dist), CARGO_TARGET_DIR, FERRY_UI_CA_BUNDLE (default
# /etc/ssl/certs/ca-certificates.crt), FERRY_IMAGE_BUILDER (buildah or docker, to choose).

set -euo pipefail

readonly TARGET=aarch64-unknown-linux-musl
readonly PLATFORM=linux/arm64

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly dist=${FERRY_DIST_DIR:-$repo/dist}
readonly context=$dist/ui
readonly dockerfile=$repo/infra/container/Dockerfile
readonly target_dir=${CARGO_TARGET_DIR:-$repo/target}
readonly tools_dir=${FERRY_TOOLS_DIR:-$HOME/.cache/ferry}/cargo-zigbuild
readonly ca_bundle=${FERRY_UI_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

die() {
    echo "image: $*" >&2
    exit 1
}

usage() {
    sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

build=1
push=0
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        --push) push=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument $arg (see --help)" ;;
    esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml" | head -n 1)
revision=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
readonly image=${FERRY_UI_IMAGE:-localhost/ferry-ui:${version:-dev}}

# cargo-zigbuild and zig: used as installed when both are there, otherwise installed from
# PyPI into their own venv (no system Python is modified). Then the Rust target.
ensure_tools() {
    if ! { cargo zigbuild --version >/dev/null 2>&1 && { command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null; }; }; then
        if [[ ! -x $tools_dir/bin/cargo-zigbuild ]] || ! "$tools_dir/bin/python3" -c 'import ziglang' 2>/dev/null; then
            echo "image: installing cargo-zigbuild and ziglang into $tools_dir" >&2
            python3 -m venv "$tools_dir" || die "python3 -m venv failed; install python3-venv"
            "$tools_dir/bin/python3" -m pip install --quiet --disable-pip-version-check cargo-zigbuild ziglang ||
                die "pip install cargo-zigbuild ziglang failed"
        fi
        # First on PATH: `cargo zigbuild` finds cargo-zigbuild, which finds zig through
        # this venv's `python3 -m ziglang`.
        export PATH="$tools_dir/bin:$PATH"
    fi

    if ! rustup target list --installed | grep -qx "$TARGET"; then
        echo "image: adding the Rust target $TARGET" >&2
        rustup target add "$TARGET" || die "rustup target add $TARGET failed"
    fi
}

binary=$target_dir/$TARGET/release/ferry-ui
if ((build)); then
    ensure_tools
    locked=()
    if [[ ${CI:-} == true ]]; then
        locked=(--locked)
    fi
    (
        cd "$repo"
        set -x
        cargo zigbuild --release --target "$TARGET" -p ferry-ui ${locked[@]+"${locked[@]}"}
    )
fi

[[ -f $binary ]] || die "$binary is missing: did cargo zigbuild --target $TARGET -p ferry-ui succeed?"
[[ -f $ca_bundle ]] || die "no CA bundle at $ca_bundle (install ca-certificates, or set FERRY_UI_CA_BUNDLE)"
if command -v file >/dev/null; then
    description=$(file -b "$binary")
    [[ $description == *aarch64* || $description == *ARM\ aarch64* ]] || die "$binary is not an aarch64 binary: $description"
    [[ $description == *static* ]] || die "$binary is not statically linked (FROM scratch has no libc): $description"
fi

rm -rf "$context"
mkdir -p "$context"
cp "$binary" "$context/ferry-ui"
cp "$ca_bundle" "$context/ca-certificates.crt"
bytes=$(wc -c <"$context/ferry-ui")
bytes=${bytes//[[:space:]]/}
echo "image: context ${context#"$repo"/}/: ferry-ui ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB), ca-certificates.crt"

builder=${FERRY_IMAGE_BUILDER:-}
if [[ -z $builder ]]; then
    if command -v buildah >/dev/null; then
        builder=buildah
    elif command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
        builder=docker
    fi
fi

build_args=(--build-arg "VERSION=${version:-dev}" --build-arg "REVISION=$revision")
case $builder in
    buildah)
        (
            set -x
            buildah bud --platform "$PLATFORM" -f "$dockerfile" "${build_args[@]}" -t "$image" "$context"
        )
        if ((push)); then
            (
                set -x
                buildah push "$image"
            )
        fi
        ;;
    docker)
        # --load keeps the image locally; --push sends it to the registry instead.
        output=--load
        if ((push)); then
            output=--push
        fi
        (
            set -x
            docker buildx build --platform "$PLATFORM" -f "$dockerfile" "${build_args[@]}" -t "$image" "$output" "$context"
        )
        ;;
    "")
        echo "image: neither buildah nor docker buildx is installed; the context is staged. Build it with:" >&2
        echo "  buildah bud --platform $PLATFORM -f ${dockerfile#"$repo"/} ${build_args[*]} -t $image ${context#"$repo"/}" >&2
        exit 1
        ;;
    *) die "FERRY_IMAGE_BUILDER must be buildah or docker, found $builder" ;;
esac

if ((push)); then
    echo "image: $image ($PLATFORM), pushed"
else
    echo "image: $image ($PLATFORM)"
fi
