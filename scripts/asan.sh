#!/usr/bin/env bash
# AddressSanitizer run of the native code (issue 16): a CPU-only build (ASan and the CUDA runtime do
# not mix) of both addons into build-asan/, loaded instead of the dev build (node-gyp-build's
# FUSEDRNN_PREBUILD for the production addon, FUSEDRNN_TEST_ADDON for the test addon, which the
# harness tests such as ops-args use) into a node that has the ASan runtime preloaded, running the
# test files given (default: the ones that drive the native code hardest with bad input and failed
# allocations).
#   npm run test:asan [-- test/some.test.ts ...]
# Leak detection is off: node itself does not free everything at exit. Any heap error aborts the
# test file's process with ASan's report, which vitest shows as a failed file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p build-asan
npx --no-install cmake-js rebuild -O build-asan/build --CDFRNN_WITH_CUDA=OFF --CDCMAKE_BUILD_TYPE=RelWithDebInfo \
  "--CDCMAKE_CXX_FLAGS=-fsanitize=address -fno-omit-frame-pointer" "--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address" >build-asan/build.log 2>&1 \
  || { tail -30 build-asan/build.log; exit 1; }
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test/strong-guarantee.test.ts test/fuzz.test.ts test/ops-args.test.ts test/checkpoint.test.ts test/stateful-training.test.ts)
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0 FUSEDRNN_PREBUILD="$root/build-asan" \
  FUSEDRNN_TEST_ADDON="$root/build-asan/build/test/fusedrnn_test.node" \
  npx --no-install vitest run "${tests[@]}"
