#!/usr/bin/env bash
# Installs everything haproxy-manager needs on Debian/Ubuntu, idempotently:
# system packages (haproxy from the distribution, socat, openssl, and the
# compiler native npm modules build with), the npm
# dependencies, and the compiled daemon. With --test, also what the test suite
# needs: HAProxy 3.0 beside 2.6 (scripts/install-haproxy30.sh), pebble, wrk,
# prometheus (its promtool and a throwaway server for the dashboard test) and
# chromium (the console's browser tests, driven by puppeteer-core), and for the
# package test lintian, dpkg-dev (dpkg-shlibdeps) and systemd (systemd-analyze),
# and postgresql (fleet tests start a throwaway cluster; the system one stays off).
# Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

need=(haproxy socat openssl ca-certificates python3 make g++)
[ $want_test = 1 ] && need+=(patchelf pebble wrk curl prometheus chromium lintian dpkg-dev systemd zsh groff postgresql)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # haproxy's postinst may try to start the system service; policy-rc.d keeps it from doing so here.
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests start their own throwaway PostgreSQL and Prometheus; the packaged services are not wanted at boot.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now postgresql >/dev/null 2>&1 || true; fi
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi
command -v node >/dev/null || { echo "Node.js 20 or newer is required (apt-get install nodejs npm)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "Node.js 20 or newer is required" >&2; exit 1; }

if [ $want_test = 1 ]; then
  bash scripts/install-haproxy30.sh
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
echo "haproxy-manager installed: $(haproxy -v | sed -n 1p)"
