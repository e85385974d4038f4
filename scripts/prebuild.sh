#!/usr/bin/env bash
# Makes the prebuilds that npm pack ships (TOOLCHAIN.md §4, scheme B: two variants, two folders):
#   cpu       -> prebuilds/linux-x64/fusedrnn.glibc.node            portable CPU-only addon
#   cpu-arm64 -> prebuilds/linux-arm64/fusedrnn.glibc.node          the same for arm64, cross-compiled
#                (g++-aarch64-linux-gnu; cmake/aarch64-linux-gnu.cmake)
#   cuda      -> cuda-addon/prebuilds/linux-x64/fusedrnn.glibc.node  CPU path + CUDA kernels, static cudart
# Usage: scripts/prebuild.sh [cpu|cpu-arm64|cuda|all]   (default all; `all` fails when nvcc or the
# arm64 cross compiler is missing).
# Run through npm (`npm run prebuilds`) or with node_modules/.bin on PATH. Builds go to
# build-prebuild/<variant>/, so the dev build in build/ is left as it was.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"
which="${1:-all}"

arm64_cross=aarch64-linux-gnu-  # prefix of Debian's arm64 cross tools (g++, objdump, strip)

# The objdump that reads file $1 (the host's one cannot read another architecture's dynamic symbols).
objdump_for() {
  if [ "$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')" = 183 ]; then echo "${arm64_cross}objdump"; else echo objdump; fi
}

# Highest <prefix>_x.y.z symbol version a .node needs (empty when objdump is missing).
max_version() {  # $1 = file, $2 = GLIBC | GLIBCXX | CXXABI
  local od; od="$(objdump_for "$1")"
  command -v "$od" >/dev/null || return 0
  "$od" -T "$1" | grep -oE "\(?$2_[0-9][0-9.]*" | sed "s/^(//; s/$2_//" | sort -V | tail -1
}
# Fails when file $1 needs $2 versions above $3 (the floor of Node 20's own platforms).
check_max() {
  local v; v="$(max_version "$1" "$2")"
  [ -z "$v" ] && return 0
  if [ "$(printf '%s\n%s\n' "$v" "$3" | sort -V | tail -1)" != "$3" ]; then
    echo "prebuild: ${1#$root/} needs $2_$v (> $3); pin or avoid these in cmake/glibc_compat.h:" >&2
    "$(objdump_for "$1")" -T "$1" | c++filt | while read -r line; do
      local sv; sv="$(grep -oE "\($2_[0-9][0-9.]*" <<<"$line" | sed "s/^($2_//")" || true
      [ -n "$sv" ] && [ "$(printf '%s\n%s\n' "$sv" "$3" | sort -V | tail -1)" != "$3" ] && echo "  $line" >&2
    done
    return 1
  fi
}

build_variant() {  # $1 = cpu|cuda, $2 = x64|arm64, $3 = --out folder
  local variant="$1" arch="$2" out="$3" stage="$root/build-prebuild/$1-$2"
  local cross=()
  [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ] && cross=(--arch arm64 --strip-bin "${arm64_cross}strip")
  rm -rf "$stage" && mkdir -p "$stage"
  # prebuildify reads the package name (and napi_versions) from its --cwd.
  node -e 'const p=require(process.argv[1]);require("fs").writeFileSync(process.argv[2],JSON.stringify({name:p.name,version:p.version,binary:p.binary}))' \
    "$root/package.json" "$stage/package.json"
  rm -rf "$out/prebuilds/linux-$arch"
  local t0=$SECONDS
  FRNN_PREBUILD_VARIANT="$variant" PREBUILD_NODE_GYP="$root/scripts/prebuild-shim.sh" \
    prebuildify --napi --tag-libc --strip "${cross[@]}" --cwd "$stage" --out "$out"
  local file="$out/prebuilds/linux-$arch/fusedrnn.glibc.node"
  [ -f "$file" ] || { echo "prebuild: $file was not produced" >&2; exit 1; }
  echo "prebuild: $variant $arch -> ${file#$root/} ($(stat -c %s "$file") bytes, $((SECONDS - t0)) s; needs" \
    "GLIBC_$(max_version "$file" GLIBC) GLIBCXX_$(max_version "$file" GLIBCXX) CXXABI_$(max_version "$file" CXXABI))"
  # The CPU prebuilds must load wherever Node 20 does (glibc 2.28, GCC 8's libstdc++: RHEL 8,
  # Debian 10; the same floor on x64 and arm64); cmake/glibc_compat.h pins or replaces the
  # symbols that would need newer versions.
  # A new one fails here. (The CUDA prebuild needs glibc 2.34 through static cudart: not checked.)
  if [ "$variant" = cpu ]; then
    check_max "$file" GLIBC 2.28 || exit 1
    check_max "$file" GLIBCXX 3.4.25 || exit 1
    check_max "$file" CXXABI 1.3.11 || exit 1
  fi
}

have_nvcc() { [ -n "${CUDACXX:-}" ] || command -v nvcc >/dev/null; }
need_arm64_cross() {
  [ "$(uname -m)" = aarch64 ] && return 0
  command -v "${arm64_cross}g++" >/dev/null && return 0
  echo "prebuild: ${arm64_cross}g++ not found; the arm64 prebuild cross-compiles with it (Debian/Ubuntu:" \
    "apt-get install g++-aarch64-linux-gnu). For the x64 CPU one only: npm run prebuilds:cpu" >&2
  exit 1
}

case "$which" in
  cpu) build_variant cpu x64 "$root" ;;
  cpu-arm64) need_arm64_cross; build_variant cpu arm64 "$root" ;;
  cuda) build_variant cuda x64 "$root/cuda-addon" ;;
  all)
    if ! have_nvcc; then
      echo "prebuild: nvcc not found (PATH or CUDACXX); the CUDA prebuild needs it. For the CPU one only: npm run prebuilds:cpu" >&2
      exit 1
    fi
    need_arm64_cross
    build_variant cpu x64 "$root"
    build_variant cpu arm64 "$root"
    build_variant cuda x64 "$root/cuda-addon" ;;
  *) echo "usage: scripts/prebuild.sh [cpu|cpu-arm64|cuda|all]" >&2; exit 2 ;;
esac
rm -rf "$root/build-prebuild"
