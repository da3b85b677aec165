#!/usr/bin/env bash
# Installs HAProxy 3.0 from Debian trixie into a private prefix, beside the
# distribution's 2.6, without upgrading the system: a private apt state,
# `apt-get download`, `dpkg -x`, and patchelf so the binary loads trixie's own
# loader and libraries. Used by the test suite; idempotent.
#
# Usage: scripts/install-haproxy30.sh [PREFIX]   (default /opt/haproxy-3.0)
set -euo pipefail
prefix=${1:-${HAPROXY30_PREFIX:-/opt/haproxy-3.0}}
bin="$prefix/usr/sbin/haproxy"
# No `| head` or `grep -q` under pipefail: the reader leaving early kills the
# writer with SIGPIPE (exit 141), which failed CI once.
if [ -x "$bin" ] && "$bin" -v 2>/dev/null | grep '^HAProxy version 3\.0' >/dev/null; then
  echo "haproxy 3.0 already at $bin"; exit 0
fi
command -v patchelf >/dev/null || { echo "patchelf missing: apt-get install patchelf" >&2; exit 1; }

# The mirror the machine's own apt sources already use (never a hard-coded host).
mirror=$(grep -hoE '^(URIs:|deb)[[:space:]]+[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
  | grep -v security | awk '{print $2}' | grep -E '^https?://' | sed -n 1p || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v security | sed -n 1p)
fi
[ -n "$mirror" ] || { echo "cannot find the Debian mirror in /etc/apt sources" >&2; exit 1; }

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$state/trixie.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/trixie.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq
pkgs=(haproxy libc6 libssl3t64 libzstd1 libpcre2-8-0 libjemalloc2 liblua5.4-0 libcrypt1
  libopentracing-c-wrapper0t64 libopentracing1 libstdc++6 libgcc-s1 zlib1g)
(cd "$state/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >/dev/null)

tmp="$prefix.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
for deb in "$state"/debs/*.deb; do dpkg -x "$deb" "$tmp"; done
rm -rf "$prefix"; mv "$tmp" "$prefix"
libdir="$prefix/usr/lib/x86_64-linux-gnu"
patchelf --set-interpreter "$libdir/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libdir" "$bin"
"$bin" -v | sed -n 1p
