// Loads the native addon and picks its variant (TOOLCHAIN.md scheme B).
//
// Two builds of the same native/ sources may be present:
//   - CPU:  build/Release/*.node (a dev or source build) or prebuilds/linux-x64/fusedrnn.glibc.node
//           (portable: needs glibc >= 2.27 only);
//   - CUDA: build/Release/*.node when that dev build has the CUDA part compiled in
//           (buildInfo().cuda), else cuda-addon/prebuilds/linux-x64/fusedrnn.glibc.node (needs
//           glibc >= 2.34 and, to be used, an NVIDIA driver).
// The CUDA build contains the full CPU path too. The two prebuilds live in different folders
// because node-gyp-build ignores unknown tags, so two variants in one folder would be a tie.
//
// Backend choice: options.backend, else env FUSEDRNN_BACKEND, else 'auto'.
//   'cpu'  - the CPU addon; the CUDA one is never loaded.
//   'cuda' - the CUDA addon whose cudaProbe() is ok, else an Error saying why.
//   'auto' - as 'cuda', but on any failure (load error, no driver, probe kernel wrong) the CPU
//            addon, with the one-line reason kept in nativeStatus().fallbackReason.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CudaProbeResult, NativeAddon } from '../typings/native.js';
import { nativeLoadError } from './platform.js';

const require = createRequire(import.meta.url);
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the CUDA prebuild lives (its own prebuilds/ tree, apart from the CPU one). */
export const cudaAddonRoot = join(packageRoot, 'cuda-addon');

/** Which addon variant to load: the CPU one, the CUDA one (an error when unusable), or `'auto'` (CUDA when usable, else CPU). */
export type Backend = 'auto' | 'cpu' | 'cuda';
const BACKENDS: readonly Backend[] = ['auto', 'cpu', 'cuda'];

/** Options of {@link loadNative} and {@link nativeStatus}. */
export interface LoadOptions {
  /** Which addon variant to load; default: env FUSEDRNN_BACKEND, else 'auto'. */
  backend?: Backend;
}

/** Which addon variant is loaded, from where, and why CUDA is not used when it is not. */
export interface NativeStatus {
  /** The variant in use: 'cuda' only when its probe kernel ran correctly on device 0. */
  variant: 'cpu' | 'cuda';
  /** What was asked for. */
  requested: Backend;
  /** Absolute path of the loaded .node file. */
  path: string;
  /** In 'auto': why the CUDA addon is not used (one line). Absent when variant is 'cuda' or requested 'cpu'. */
  fallbackReason?: string;
  /** The CUDA probe's full result, when one ran. */
  cudaProbe?: CudaProbeResult;
}

interface Loaded {
  addon: NativeAddon;
  status: NativeStatus;
}

type NodeGypBuild = ((dir: string) => unknown) & { path(dir: string): string };
const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;

const cache = new Map<Backend, Loaded>();

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((s) => s.trim()).filter(Boolean).join(' ').slice(0, 500);
}

function shortPath(p: string): string {
  const r = relative(packageRoot, p);
  return r && !r.startsWith('..') ? r.split(sep).join('/') : p;
}

function requestedBackend(options?: LoadOptions): Backend {
  if (options?.backend !== undefined) {
    if (!BACKENDS.includes(options.backend)) {
      throw new TypeError(`options.backend must be 'auto', 'cpu' or 'cuda', got ${JSON.stringify(options.backend)}`);
    }
    return options.backend;
  }
  const env = process.env.FUSEDRNN_BACKEND;
  if (env === undefined || env === '') return 'auto';
  const v = env.trim().toLowerCase();
  if (!BACKENDS.includes(v as Backend)) {
    throw new TypeError(`env FUSEDRNN_BACKEND must be 'auto', 'cpu' or 'cuda', got ${JSON.stringify(env)}`);
  }
  return v as Backend;
}

function requireAddon(path: string): NativeAddon {
  return require(path) as NativeAddon;
}

/**
 * The CPU addon under `root`: node-gyp-build's pick (build/Release, build/Debug, then prebuilds/).
 * Exported for tests (an empty folder stands in for an unsupported platform).
 * @returns the addon and the path it was loaded from.
 * @throws Error from {@link nativeLoadError} when nothing fits this platform or it fails to load.
 */
export function loadCpu(root = packageRoot): { addon: NativeAddon; path: string } {
  try {
    const path = nodeGypBuild.path(root);
    return { addon: requireAddon(path), path };
  } catch (err) {
    throw nativeLoadError(err, root);
  }
}

/** Paths that may hold a CUDA-enabled addon, best first. */
function cudaCandidates(): string[] {
  const out: string[] = [];
  try {
    // node-gyp-build looks in build/Release and build/Debug before prebuilds/: a path under build/
    // is a dev or source build, which has the CUDA part when nvcc was found at build time.
    const p = nodeGypBuild.path(packageRoot);
    if (p.startsWith(join(packageRoot, 'build') + sep)) out.push(p);
  } catch {
    // no build at all: loadCpu() will say so
  }
  if (existsSync(join(cudaAddonRoot, 'prebuilds'))) {
    try {
      out.push(nodeGypBuild.path(cudaAddonRoot));
    } catch {
      // no prebuild for this platform
    }
  }
  return out;
}

type CudaAttempt =
  | { ok: true; addon: NativeAddon; path: string; probe: CudaProbeResult }
  | { ok: false; reason: string; probe?: CudaProbeResult };

function tryCuda(): CudaAttempt {
  const notes: string[] = [];
  for (const path of cudaCandidates()) {
    let addon: NativeAddon;
    try {
      addon = requireAddon(path);
    } catch (err) {
      notes.push(`${shortPath(path)} failed to load: ${oneLine(err)}`);
      continue;
    }
    try {
      if (typeof addon.buildInfo !== 'function' || !addon.buildInfo().cuda) {
        notes.push(`${shortPath(path)} is built without CUDA`);
        continue;
      }
      const probe = addon.cudaProbe();
      if (probe.ok) return { ok: true, addon, path, probe };
      return { ok: false, reason: `CUDA probe failed (${shortPath(path)}): ${probe.reason}`, probe };
    } catch (err) {
      return { ok: false, reason: `CUDA probe threw (${shortPath(path)}): ${oneLine(err)}` };
    }
  }
  if (notes.length === 0) notes.push('no CUDA build of the addon found (looked in build/ and cuda-addon/prebuilds/)');
  return { ok: false, reason: notes.join('; ') };
}

function load(requested: Backend): Loaded {
  if (requested !== 'cpu') {
    const cuda = tryCuda();
    if (cuda.ok) {
      return {
        addon: cuda.addon,
        status: { variant: 'cuda', requested, path: cuda.path, cudaProbe: cuda.probe },
      };
    }
    if (requested === 'cuda') {
      throw new Error(`fusedrnn: the CUDA backend was requested but cannot be used: ${cuda.reason}`);
    }
    const cpu = loadCpu();
    const status: NativeStatus = { variant: 'cpu', requested, path: cpu.path, fallbackReason: cuda.reason };
    if (cuda.probe) status.cudaProbe = cuda.probe;
    return { addon: cpu.addon, status };
  }
  const cpu = loadCpu();
  return { addon: cpu.addon, status: { variant: 'cpu', requested, path: cpu.path } };
}

function loaded(options?: LoadOptions): Loaded {
  const requested = requestedBackend(options);
  let entry = cache.get(requested);
  if (!entry) {
    entry = load(requested);
    cache.set(requested, entry);
  }
  return entry;
}

/**
 * The native addon for the requested backend (loaded once per backend, then cached).
 * @returns the addon object (see {@link NativeAddon}).
 * @throws TypeError for a backend other than 'auto', 'cpu' or 'cuda' (option or env FUSEDRNN_BACKEND); Error when
   the CUDA backend is requested and unusable (saying why), or when no addon loads on this platform (naming it, what is
   supported and how to build from a clone).
 */
export function loadNative(options?: LoadOptions): NativeAddon {
  return loaded(options).addon;
}

/**
 * Which addon variant is in use and why; loads it if needed.
 * @returns a copy of the status: variant, requested backend, the .node path, the CUDA fallback reason and probe.
 * @throws as {@link loadNative}.
 */
export function nativeStatus(options?: LoadOptions): NativeStatus {
  const s = loaded(options).status;
  return { ...s };
}
