// The test addon: the production addon's exports plus the op harness (`ops.<name>`, one op of
// native/ops.h on one backend) and the initializers (`init.<name>`, native/init.h). cmake-js builds
// it beside the production addon, into build/test/ (CMakeLists.txt says why it is apart); it is
// never shipped, so its typings live here rather than in typings/.
//
// A file that uses the harness takes everything from this addon (Model, cpuIsa, counters too)
// when it must see the same native state as its ops: each addon holds its own copy of that state.
// Env FUSEDRNN_TEST_ADDON overrides the path (the ASan run points it at its own build).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../lib/native.js';
import type { DType, NativeAddon } from '../../typings/native.js';

export type { DType };

/** One op of ops.h run on a backend; tensors cross as Float64Array / Int32Array. */
export type OpHarness = (dtype: DType, args: Record<string, unknown>) => Record<string, Float64Array | Int32Array | number>;

/** The test addon's exports: the production ones plus the harness. */
export interface TestAddon extends NativeAddon {
  ops: Record<string, OpHarness>;
  /** Host-side initializers (native/init.h), deterministic in (seed, offset). */
  init: Record<string, (args: Record<string, unknown>) => Float64Array>;
}

/** Where the test addon is loaded from. */
export const testAddonPath = process.env.FUSEDRNN_TEST_ADDON || join(packageRoot, 'build/test/fusedrnn_test.node');

let cached: TestAddon | undefined;

/**
 * The test addon (loaded once).
 * @throws Error naming the path and the command that builds it when it is missing.
 */
export function loadTestAddon(): TestAddon {
  if (cached) return cached;
  if (!existsSync(testAddonPath)) {
    throw new Error(
      `the test addon ${testAddonPath} is missing: build it with \`npx cmake-js build\` ` +
        '(`npx cmake-js build --CDFRNN_WITH_CUDA=OFF` without the CUDA part; `npm ci` and `npm run build` build it too)',
    );
  }
  cached = createRequire(import.meta.url)(testAddonPath) as TestAddon;
  return cached;
}
