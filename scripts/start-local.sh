#!/usr/bin/env bash
# Installs everything, then runs the daemon in local mode (config/local.yaml):
# state under ./var, a managed HAProxy on 127.0.0.1:8080, the API on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node dist/main.js run --config config/local.yaml
