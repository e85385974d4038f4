#!/usr/bin/env bash
# PREBUILD_NODE_GYP shim: prebuildify calls this instead of node-gyp, in its --cwd (a staging
# folder, build-prebuild/<variant>), and then takes <cwd>/build/Release/*.node. We build with
# cmake-js from the repo root into that staging folder, so the dev build in build/ is untouched.
# prebuildify's node-gyp arguments (--target=<node version> ...) are ignored on purpose: cmake-js
# would read --target as the CMake build target. FRNN_PREBUILD_VARIANT (cpu|cuda) picks the build.
# Only the production addon is built (--target fusedrnn): the test addon is never shipped.
# PREBUILD_ARCH (set by prebuildify from --arch) arm64 on another host cross-compiles.
set -euo pipefail
stage="$PWD"
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${FRNN_PREBUILD_VARIANT:-}" in
  cpu)  flags=(--CDFRNN_WITH_CUDA=OFF) ;;
  cuda) flags=(--CDFRNN_WITH_CUDA=ON --CDFRNN_REQUIRE_CUDA=ON) ;;
  *) echo "prebuild-shim: FRNN_PREBUILD_VARIANT must be cpu or cuda" >&2; exit 2 ;;
esac
if [ "${PREBUILD_ARCH:-}" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  flags+=(--CDCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake")
fi
cd "$root"
exec npx --no-install cmake-js rebuild -O "$stage/build" --target fusedrnn "${flags[@]}" --CDFRNN_PORTABLE=ON
