#!/usr/bin/env bash
# Installs everything (HAProxy 2.6 and 3.0, pebble, ...) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
npm run -s typecheck
# npm test runs test/package.test.ts alone, after the rest: it installs the .deb into the
# system, and while /etc/haproxy-manager/config.yaml exists the CLI tests that rely on
# "no default configuration" would read it.
exec npm test
