// Loads the native addon. (The CUDA/CPU variant choice of TOOLCHAIN.md scheme B lives here.)
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../typings/native.js';

const require = createRequire(import.meta.url);
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (!cached) {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    cached = nodeGypBuild(packageRoot);
  }
  return cached;
}
