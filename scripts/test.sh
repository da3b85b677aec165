#!/usr/bin/env bash
# Installs everything (HAProxy 2.6 and 3.0, pebble, ...) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
npm run -s typecheck
exec npm test
