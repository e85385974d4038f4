#!/usr/bin/env bash
# CPU-only build of native/ with node-gyp (binding.gyp) into build/, for machines without CMake.
# Run it through npm (`npm run build:gyp`): npm puts its bundled node-gyp on PATH. node-gyp needs
# Node's headers; they are taken from the running Node's own prefix (include/node) when npm has no
# nodedir configured, so nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  if [ -f "$prefix/include/node/common.gypi" ]; then export npm_config_nodedir="$prefix"; fi
fi
# node-gyp and cmake-js share build/: start clean so neither sees the other's leftovers.
rm -rf build
exec node-gyp rebuild ${npm_config_nodedir:+--nodedir="$npm_config_nodedir"} "$@"
