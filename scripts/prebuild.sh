#!/usr/bin/env bash
# Makes the prebuilds that npm pack ships (TOOLCHAIN.md §4, scheme B: two variants, two folders):
#   cpu  -> prebuilds/linux-x64/fusedrnn.glibc.node            portable CPU-only addon
#   cuda -> cuda-addon/prebuilds/linux-x64/fusedrnn.glibc.node  CPU path + CUDA kernels, static cudart
# Usage: scripts/prebuild.sh [cpu|cuda|all]   (default all; `all` fails when nvcc is missing).
# Run through npm (`npm run prebuilds`) or with node_modules/.bin on PATH. Builds go to
# build-prebuild/<variant>/, so the dev build in build/ is left as it was.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"
which="${1:-all}"

# Highest <prefix>_x.y.z symbol version a .node needs (empty when objdump is missing).
max_version() {  # $1 = file, $2 = GLIBC | GLIBCXX | CXXABI
  command -v objdump >/dev/null || return 0
  objdump -T "$1" | grep -oE "\(?$2_[0-9][0-9.]*" | sed "s/^(//; s/$2_//" | sort -V | tail -1
}
# Fails when file $1 needs $2 versions above $3 (the floor of Node 20's own platforms).
check_max() {
  local v; v="$(max_version "$1" "$2")"
  [ -z "$v" ] && return 0
  if [ "$(printf '%s\n%s\n' "$v" "$3" | sort -V | tail -1)" != "$3" ]; then
    echo "prebuild: ${1#$root/} needs $2_$v (> $3); pin or avoid these in cmake/glibc_compat.h:" >&2
    objdump -T "$1" | c++filt | while read -r line; do
      local sv; sv="$(grep -oE "\($2_[0-9][0-9.]*" <<<"$line" | sed "s/^($2_//")" || true
      [ -n "$sv" ] && [ "$(printf '%s\n%s\n' "$sv" "$3" | sort -V | tail -1)" != "$3" ] && echo "  $line" >&2
    done
    return 1
  fi
}

build_variant() {  # $1 = cpu|cuda, $2 = --out folder
  local variant="$1" out="$2" stage="$root/build-prebuild/$1"
  rm -rf "$stage" && mkdir -p "$stage"
  # prebuildify reads the package name (and napi_versions) from its --cwd.
  node -e 'const p=require(process.argv[1]);require("fs").writeFileSync(process.argv[2],JSON.stringify({name:p.name,version:p.version,binary:p.binary}))' \
    "$root/package.json" "$stage/package.json"
  rm -rf "$out/prebuilds"
  local t0=$SECONDS
  FRNN_PREBUILD_VARIANT="$variant" PREBUILD_NODE_GYP="$root/scripts/prebuild-shim.sh" \
    prebuildify --napi --tag-libc --strip --cwd "$stage" --out "$out"
  local file="$out/prebuilds/linux-x64/fusedrnn.glibc.node"
  [ -f "$file" ] || { echo "prebuild: $file was not produced" >&2; exit 1; }
  echo "prebuild: $variant -> ${file#$root/} ($(stat -c %s "$file") bytes, $((SECONDS - t0)) s; needs" \
    "GLIBC_$(max_version "$file" GLIBC) GLIBCXX_$(max_version "$file" GLIBCXX) CXXABI_$(max_version "$file" CXXABI))"
  # The CPU prebuild must load wherever Node 20 does (glibc 2.28, GCC 8's libstdc++: RHEL 8,
  # Debian 10); cmake/glibc_compat.h pins or replaces the symbols that would need newer versions.
  # A new one fails here. (The CUDA prebuild needs glibc 2.34 through static cudart: not checked.)
  if [ "$variant" = cpu ]; then
    check_max "$file" GLIBC 2.28 || exit 1
    check_max "$file" GLIBCXX 3.4.25 || exit 1
    check_max "$file" CXXABI 1.3.11 || exit 1
  fi
}

have_nvcc() { [ -n "${CUDACXX:-}" ] || command -v nvcc >/dev/null; }

case "$which" in
  cpu) build_variant cpu "$root" ;;
  cuda) build_variant cuda "$root/cuda-addon" ;;
  all)
    if ! have_nvcc; then
      echo "prebuild: nvcc not found (PATH or CUDACXX); the CUDA prebuild needs it. For the CPU one only: npm run prebuilds:cpu" >&2
      exit 1
    fi
    build_variant cpu "$root"
    build_variant cuda "$root/cuda-addon" ;;
  *) echo "usage: scripts/prebuild.sh [cpu|cuda|all]" >&2; exit 2 ;;
esac
rm -rf "$root/build-prebuild"
