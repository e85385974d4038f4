#!/usr/bin/env bash
# npm run test:arm64: the arm64 build under emulation (qemu-aarch64 with Node 20 for arm64; see
# scripts/arm64-tools.sh for where each piece comes from).
#   1. cross-compiles both addons (production and test) for arm64 into .cache/arm64/addon/build
#   2. vitest.arm64.config.ts's subset on arm64, under QEMU_CPU=max: a CPU with FEAT_BF16, so
#      every variant (generic, neon, neonbf16) is forced and checked against the fp64 reference
#   3. on a CPU without bf16 (cortex-a72) the automatic choice is neon
#   4. checkpoints exchanged with x64 (test/cross-arch-checkpoint.test.ts, run on both sides)
# No speed is measured here: emulation says nothing about it. The packed tarball on arm64 is
# checked by npm run test:pack (test/pack.test.ts) once `npm run prebuilds` made the arm64 prebuild.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"
t0=$SECONDS

eval "$(bash scripts/arm64-tools.sh)"
addon="$root/.cache/arm64/addon"
[ -f dist/index.js ] || { echo "test:arm64: dist/ is missing: run npm run build:ts first" >&2; exit 1; }

echo "=== test:arm64: cross-compiling the addons for arm64"
cmake-js build -O "$addon/build" --CDFRNN_WITH_CUDA=OFF \
  --CDCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" >"$addon.build.log" 2>&1 ||
  { tail -30 "$addon.build.log" >&2; exit 1; }

# arm64 <command...>: runs Node for arm64 under qemu, loading the arm64 addons (node-gyp-build's
# FUSEDRNN_PREBUILD folder; the test addon by path) and vitest's arm64 bundler module.
arm64() {
  QEMU_LD_PREFIX="$SYSROOT" FUSEDRNN_PREBUILD="$addon" FUSEDRNN_TEST_ADDON="$addon/build/test/fusedrnn_test.node" \
    NAPI_RS_NATIVE_LIBRARY_PATH="$ROLLDOWN" "$QEMU" "$NODE" "$@"
}

exchange="$(mktemp -d -t fusedrnn-cross-arch.XXXXXX)"
trap 'rm -rf "$exchange"' EXIT
cross_test=test/cross-arch-checkpoint.test.ts

echo "=== test:arm64: x64 writes a checkpoint for arm64"
FUSEDRNN_CROSS_ARCH_DIR="$exchange" vitest run --config vitest.arm64.config.ts "$cross_test"

echo "=== test:arm64: the arm64 subset under qemu (QEMU_CPU=max)"
QEMU_CPU=max FUSEDRNN_CROSS_ARCH_DIR="$exchange" FUSEDRNN_CROSS_ARCH_READ=x64 \
  arm64 node_modules/vitest/vitest.mjs run --config vitest.arm64.config.ts

echo "=== test:arm64: the variant picked on a CPU without bf16 (QEMU_CPU=cortex-a72)"
picked="$(QEMU_CPU=cortex-a72 arm64 --input-type=module -e \
  "import { loadNative } from './dist/index.js'; const i = loadNative({ backend: 'cpu' }).cpuIsa; console.log(i.active(), i.supported('neonbf16'))")"
echo "picked: $picked"
[ "$picked" = "neon false" ] || { echo "test:arm64: expected 'neon false' (neon picked, neonbf16 unsupported), got '$picked'" >&2; exit 1; }

echo "=== test:arm64: x64 reads the checkpoint arm64 wrote"
FUSEDRNN_CROSS_ARCH_DIR="$exchange" FUSEDRNN_CROSS_ARCH_READ=arm64 vitest run --config vitest.arm64.config.ts "$cross_test"

echo "=== test:arm64 ok ($((SECONDS - t0)) s)"
