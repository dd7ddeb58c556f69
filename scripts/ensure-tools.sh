#!/usr/bin/env bash
# Installs the tools the tests need, only when they are missing, so a fresh machine (and CI)
# gets the same setup as a developer's.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import moto, flask, werkzeug' 2>/dev/null; then
    echo "installing moto[server] (the AWS emulator used by the integration tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi

if [ -n "$(ls statemachines/*.json 2>/dev/null)" ] && [ ! -x node_modules/.bin/asl-validator ]; then
    echo "installing asl-validator (Amazon States Language schema checks)"
    npm ci --no-audit --no-fund --silent
fi
