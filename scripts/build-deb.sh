#!/usr/bin/env bash
# Builds haproxy-manager_<version>_<arch>.deb from this checkout:
#   bash scripts/build-deb.sh [--out DIR]      (default DIR: the checkout)
# and prints its path. The version comes from package.json, the architecture
# from `dpkg --print-architecture`. Everything happens in a temporary directory;
# the checkout (and its node_modules) is only read. The network is used for the
# npm registry alone (`npm ci`, through the npm cache when it holds the packages).
#
# Layout of the package:
#   /usr/lib/haproxy-manager/        dist/ (compiled), bin/, templates/, prompts/,
#                                    config/ (rules, policy, examples), package.json,
#                                    node_modules/ (production only; native modules
#                                    built here, for this architecture and Node major)
#   /usr/bin/haproxy-manager         -> ../lib/haproxy-manager/bin/haproxy-manager
#   /lib/systemd/system/haproxy-manager.service
#   /etc/haproxy-manager/config.yaml conffile: config/haproxy-manager.example.yaml with
#                                    api.key_file pointing at /etc/haproxy-manager/api-key
#   /var/lib/haproxy-manager         the state directory (0700)
#   /usr/share/doc/haproxy-manager/  README.md.gz, copyright, changelog.gz
# The control template and maintainer scripts are in packaging/deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$src
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$(realpath "$2"); shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done

# What the build needs: Node 20+ with npm, a compiler for the native modules, dpkg-dev.
command -v node >/dev/null && command -v npm >/dev/null || { echo "Node.js 20 or newer with npm is required (apt-get install nodejs npm)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "Node.js 20 or newer is required" >&2; exit 1; }
need=(python3 make g++ dpkg-dev)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing build packages: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1; }
  echo "installing build packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

name=haproxy-manager
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
node_major=$(node -p 'process.versions.node.split(".")[0]')
deb="$out/${name}_${version}_${arch}.deb"
# Sign the package as yourself with DEBFULLNAME and DEBEMAIL (the Debian tools' variables).
maintainer="${DEBFULLNAME:-haproxy-manager maintainers} <${DEBEMAIL:-haproxy-manager@example.org}>"
work=$(mktemp -d "${TMPDIR:-/tmp}/$name-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
npm_flags=(--no-audit --no-fund --prefer-offline --loglevel=error)
t0=$SECONDS

# 1. Compile. A checkout that ran scripts/install.sh has node_modules: its tsc
# compiles into the build directory (the emitted JavaScript depends on the
# sources alone). Without it, or when it fails (node_modules out of date), the
# full dependency tree (tsc, type declarations) is installed there first.
mkdir -p "$work/build"
if ! { [ -x node_modules/.bin/tsc ] && node_modules/.bin/tsc -p tsconfig.json --outDir "$work/build/dist" >/dev/null; }; then
  rm -rf "$work/build/dist"
  cp -r package.json package-lock.json .npmrc tsconfig.json src "$work/build/"
  (cd "$work/build" && npm ci --ignore-scripts "${npm_flags[@]}" >/dev/null && npm run -s build)
fi
echo "compiled in $((SECONDS - t0)) s"

# 2. The application directory: production dependencies. The packages with
# install scripts (native modules: better-sqlite3, unix-dgram) are built for
# this architecture and Node: when the checkout's node_modules holds the same
# version already built, its compiled addon is reused (building better-sqlite3
# from source takes a minute or more), else `npm rebuild` builds it here; either
# way each one must load in this Node before the package is made.
root="$work/root"
app="$root/usr/lib/$name"
mkdir -p "$app"
cp package.json package-lock.json .npmrc "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts "${npm_flags[@]}" >/dev/null)
rm -f "$app/.npmrc"
mapfile -t native < <(node -e '
  const l = require(process.argv[1]);
  for (const [k, v] of Object.entries(l.packages)) if (k && v.hasInstallScript && !v.dev) console.log(k.replace(/^node_modules\//, ""));' "$app/package-lock.json")
loads() { (cd "$app" && node -e 'for (const m of process.argv.slice(1)) require(m)' "$@") >/dev/null 2>&1; }
rebuild=()
for m in "${native[@]}"; do
  mine="$src/node_modules/$m" theirs="$app/node_modules/$m"
  if [ "${HAPROXY_MANAGER_DEB_REBUILD:-0}" != 1 ] && [ -d "$mine/build/Release" ] \
    && [ "$(node -p "require('$mine/package.json').version")" = "$(node -p "require('$theirs/package.json').version")" ]; then
    mkdir -p "$theirs/build/Release"
    cp "$mine"/build/Release/*.node "$theirs/build/Release/"
    loads "$m" && { echo "reused the checkout's build of $m"; continue; }
    rm -rf "$theirs/build"
  fi
  rebuild+=("$m")
done
[ ${#rebuild[@]} -eq 0 ] || (cd "$app" && JOBS=max npm rebuild "${rebuild[@]}" "${npm_flags[@]}" >/dev/null)
loads "${native[@]}" || { echo "a native module does not load: ${native[*]}" >&2; exit 1; }
# Native modules keep their compiled addon and drop what building it left behind.
for m in "${native[@]}"; do
  mod="$app/node_modules/$m"
  [ -f "$mod/binding.gyp" ] || continue
  find "$mod/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$mod/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} + 2>/dev/null || true
  rm -f "$mod/build/Release/test_extension.node"
  rm -rf "$mod/deps" "$mod/src"
done
# Nothing at run time reads TypeScript sources, type declarations, source maps,
# or the packages' dot files (npm, git, eslint settings; .bin links to their CLIs).
find "$app/node_modules" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete
find "$app/node_modules" -mindepth 1 -name '.*' -prune -exec rm -rf {} +
find "$app/node_modules" -type d -empty -delete
# The addons are shared objects: stripped, not executable.
find "$app/node_modules" -name '*.node' -type f -exec strip --strip-unneeded {} + -exec chmod 0644 {} +
cp -r "$work/build/dist" "$app/dist"
find "$app/dist" -name '*.map' -delete
cp -r bin templates prompts "$app/"
mkdir -p "$app/config"
cp -r config/rules config/policy.yaml config/haproxy-manager.example.yaml "$app/config/"
echo "dependencies in $((SECONDS - t0)) s"

# 3. The rest of the file system.
install -d "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/doc/$name" "$root/usr/share/lintian/overrides"
ln -s "../lib/$name/bin/$name" "$root/usr/bin/$name"
install -m 0644 systemd/$name.service "$root/lib/systemd/system/$name.service"
# net.core.rmem_max for the UDP syslog listener's receive buffer (applied by the postinst).
install -d "$root/usr/lib/sysctl.d"
install -m 0644 packaging/sysctl.d/60-$name.conf "$root/usr/lib/sysctl.d/60-$name.conf"
install -d -m 0700 "$root/etc/$name" "$root/var/lib/$name"
# The shipped config uses the key file the postinst creates (the CLI runs without the credential).
sed 's|^  # key_file: /etc/haproxy-manager/api-key|  key_file: /etc/haproxy-manager/api-key|' config/haproxy-manager.example.yaml > "$root/etc/$name/config.yaml"
grep -q '^  key_file: /etc/haproxy-manager/api-key$' "$root/etc/$name/config.yaml" || { echo "config/haproxy-manager.example.yaml: the commented key_file line was not found" >&2; exit 1; }
gzip -9n < README.md > "$root/usr/share/doc/$name/README.md.gz"
# The manual page and the shell completions: generated by the packaged program
# itself from its help texts (`haproxy-manager man`, `completion bash|zsh`).
install -d "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"
packaged() { env -u HAPROXY_MANAGER_CONFIG node "$app/bin/$name" "$@"; }
packaged man | gzip -9n > "$root/usr/share/man/man1/$name.1.gz"
packaged completion bash > "$root/usr/share/bash-completion/completions/$name"
packaged completion zsh > "$root/usr/share/zsh/vendor-completions/_$name"
chmod 0644 "$root/usr/share/bash-completion/completions/$name" "$root/usr/share/zsh/vendor-completions/_$name"
install -m 0644 packaging/deb/copyright "$root/usr/share/doc/$name/copyright"
{
  echo "$name ($version) unstable; urgency=medium"
  echo
  echo "  * Built from $(git log -1 --format='%h (%cs)' 2>/dev/null || echo 'a checkout')."
  echo
  echo " -- $maintainer  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$root/usr/share/doc/$name/changelog.gz"
install -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/$name"

# Permissions: root-owned (dpkg-deb --root-owner-group), no group or other write.
find "$root" -type d ! -path "$root/etc/$name" ! -path "$root/var/lib/$name" -exec chmod 0755 {} +
# Executable: the scripts (a #! line), nothing else.
find "$root" -type f -exec chmod 0644 {} +
find "$root" -type f -print0 | node -e '
  const fs = require("node:fs");
  const b = Buffer.alloc(2);
  for (const f of fs.readFileSync(0, "utf8").split("\0").filter(Boolean)) {
    const fd = fs.openSync(f, "r");
    const n = fs.readSync(fd, b, 0, 2, 0);
    fs.closeSync(fd);
    if (n === 2 && b.toString() === "#!") fs.chmodSync(f, 0o755);
  }'

# 4. Control files.
mkdir -p "$root/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "packaging/deb/$f" "$root/DEBIAN/$f"; done
echo "/etc/$name/config.yaml" > "$root/DEBIAN/conffiles"
# Shared libraries the native modules link to (libc, libstdc++...), as dpkg-shlibdeps sees them.
mkdir -p "$work/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" > "$work/shlibs/debian/control"
mapfile -t addons < <(find "$app" -name '*.node' -type f)
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O --warnings=0 "${addons[@]/#/-e}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
# The native modules are built for this Node major's ABI (NODE_MODULE_VERSION): another major cannot load them.
depends="nodejs (>= $node_major), nodejs (<< $((node_major + 1))), haproxy, openssl${shlibs:+, $shlibs}"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" -e "s|@MAINTAINER@|$maintainer|" packaging/deb/control > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"

mkdir -p "$out"
# xz -1: a tenth of the time -6 takes here, for a package about 20% larger.
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1), $size KiB installed) in $((SECONDS - t0)) s"
