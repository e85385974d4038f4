// The build and the loader: buildInfo()/cudaProbe() of each addon present, the CPU/CUDA variant
// choice of lib/native.ts, and loading in a worker thread. Behaves on GPU-less machines (probe
// fails cleanly, 'auto' falls back, 'cuda' throws) and on GPU machines (probe ok, 'cuda' loads).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { CudaProbeResult, NativeAddon } from '../typings/native.js';
import { loadNative, nativeStatus, packageRoot } from '../lib/native.js';
import { loadTestAddon, testAddonPath } from './helpers/test-addon.js';

const root = packageRoot;
const cpuPrebuild = join(root, 'prebuilds/linux-x64/fusedrnn.glibc.node');
const arm64Prebuild = join(root, 'prebuilds/linux-arm64/fusedrnn.glibc.node');
const cudaPrebuild = join(root, 'cuda-addon/prebuilds/linux-x64/fusedrnn.glibc.node');

function hasNvcc(): boolean {
  if (process.env.CUDACXX && existsSync(process.env.CUDACXX)) return true;
  return spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The dev build was configured by cmake-js with the CUDA option on (the default). */
function cmakeWantsCuda(): boolean {
  const cache = join(root, 'build/CMakeCache.txt');
  if (!existsSync(cache)) return false;
  const text = readFileSync(cache, 'utf8');
  return !/^FRNN_WITH_CUDA:BOOL=OFF$/m.test(text);
}

const req = createRequire(import.meta.url);
const requireAddon = (p: string) => req(p) as NativeAddon;

/** A driver is there when cudaDriverGetVersion reports one (0 = libcuda.so.1 not loadable). */
function expectProbeConsistent(p: CudaProbeResult): void {
  expect(typeof p.ok).toBe('boolean');
  expect(typeof p.reason).toBe('string');
  expect(p.reason.length).toBeGreaterThan(0);
  expect(p.reason).not.toContain('\n');
  expect(Array.isArray(p.devices)).toBe(true);
  if (p.ok) {
    expect(p.deviceCount).toBeGreaterThan(0);
    expect(p.devices.length).toBe(p.deviceCount);
    expect(p.devices[0].kernelOk).toBe(true);
    expect(p.devices[0].code).not.toBe('none');
    expect(p.devices[0].totalMemory).toBeGreaterThan(0);
    expect(p.devices[0].computeCapability).toMatch(/^\d+\.\d+$/);
  } else if (p.driverVersion === 0 && p.errorCode === 35) {
    // No NVIDIA driver at all (this project's build machines): a clean reason, nothing else.
    expect(p.reason).toMatch(/^no NVIDIA driver/);
    expect(p.deviceCount).toBe(0);
    expect(p.devices).toEqual([]);
  }
}

describe('dev addon (build/ or CPU prebuild)', () => {
  const addon = loadNative({ backend: 'cpu' });
  const info = addon.buildInfo();

  it('reports what it was built with', () => {
    expect(info.napiVersion).toBe(8);
    expect(info.runtimeNapiVersion).toBeGreaterThanOrEqual(8);
    expect(info.exceptions).toBe(true);
    expect(info.cplusplus).toBeGreaterThanOrEqual(201703);
    expect(info.compiler).toMatch(/^(gcc|clang|msvc) /);
    expect(['cmake-js', 'node-gyp']).toContain(info.buildSystem);
    // The op harness and the initializers ship only in the test addon.
    expect(addon).not.toHaveProperty('ops');
    expect(addon).not.toHaveProperty('init');
  });

  it('has CUDA compiled in exactly when cmake-js found nvcc', () => {
    const path = nativeStatus({ backend: 'cpu' }).path;
    if (path.startsWith(join(root, 'build'))) {
      const expected = info.buildSystem === 'cmake-js' && hasNvcc() && cmakeWantsCuda();
      expect(info.cuda).toBe(expected);
    } else {
      expect(info.cuda).toBe(false); // the portable CPU prebuild
    }
    if (info.cuda) {
      expect(info.cudaArchitectures).toBe('75-real,80-real,90-real,90-virtual');
      expect(info.cudaRuntimeVersion).toBeGreaterThanOrEqual(12000);
    } else {
      expect(info.cudaArchitectures).toBe('');
    }
  });

  it('cudaProbe() never throws and explains itself', () => {
    const p = addon.cudaProbe();
    expectProbeConsistent(p);
    if (!info.cuda) {
      expect(p).toMatchObject({ ok: false, reason: 'built without CUDA', deviceCount: 0, devices: [] });
    } else {
      expect(p.runtimeVersion).toBe(info.cudaRuntimeVersion);
      // Repeated probes give the same answer (no sticky state from the failed first call).
      const again = addon.cudaProbe();
      expect(again.ok).toBe(p.ok);
      expect(again.reason).toBe(p.reason);
    }
  });
});

describe.runIf(existsSync(join(root, 'build/CMakeCache.txt')))('test addon (cmake-js dev build)', () => {
  it('lies outside build/Release, where node-gyp-build would load it, and holds the harness', () => {
    // node-gyp-build loads the first .node it finds in build/Release: only the production one may be there.
    expect(readdirSync(join(root, 'build/Release')).filter((f) => f.endsWith('.node'))).toEqual(['fusedrnn.node']);
    expect(testAddonPath.startsWith(join(root, 'build/Release'))).toBe(false);
    const t = loadTestAddon();
    expect(typeof t.ops.rnnForward).toBe('function');
    expect(typeof t.init.uniform).toBe('function');
    expect(typeof t.Model).toBe('function');
  });

  it('is built with the same kernels as the production addon (CUDA part included when it has one)', () => {
    const prod = requireAddon(join(root, 'build/Release/fusedrnn.node'));
    expect(loadTestAddon().buildInfo()).toEqual(prod.buildInfo());
  });
});

// The GLIBC_x.y versions above 2.28 that file needs, by `objdump` (none found when it is missing).
function glibcAbove228(objdump: string, file: string): number[][] {
  const out = spawnSync(objdump, ['-T', file], { encoding: 'utf8' });
  if (out.status !== 0) return [];
  const versions = [...out.stdout.matchAll(/\(GLIBC_(\d+)\.(\d+)(?:\.\d+)?\)/g)].map((m) => [+m[1]!, +m[2]!]);
  return versions.filter(([maj, min]) => maj! > 2 || (maj === 2 && min! > 28));
}

describe('prebuilds (when present)', () => {
  it.skipIf(!existsSync(cpuPrebuild))('CPU prebuild: no CUDA, loads, needs glibc <= 2.28 only', () => {
    const a = requireAddon(cpuPrebuild);
    expect(a.buildInfo().cuda).toBe(false);
    expect(a.cudaProbe().reason).toBe('built without CUDA');
    expect(glibcAbove228('objdump', cpuPrebuild), 'symbols above GLIBC_2.28: see cmake/glibc_compat.h').toEqual([]);
  });

  it.skipIf(!existsSync(arm64Prebuild))('arm64 CPU prebuild: an AArch64 shared object that needs glibc <= 2.28 only', () => {
    const elf = readFileSync(arm64Prebuild);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18), 'e_machine: EM_AARCH64').toBe(183);
    expect(glibcAbove228('aarch64-linux-gnu-objdump', arm64Prebuild), 'symbols above GLIBC_2.28: see cmake/glibc_compat.h').toEqual([]);
  });

  it.skipIf(!existsSync(cudaPrebuild))('CUDA prebuild: CUDA compiled in, probe is clean', () => {
    const a = requireAddon(cudaPrebuild);
    const info = a.buildInfo();
    expect(info.cuda).toBe(true);
    expect(info.cudaArchitectures).toBe('75-real,80-real,90-real,90-virtual');
    expectProbeConsistent(a.cudaProbe());
    const ldd = spawnSync('ldd', [cudaPrebuild], { encoding: 'utf8' });
    if (ldd.status === 0) {
      expect(ldd.stdout).not.toMatch(/libcudart|libcuda\.so/); // static cudart; driver dlopen'ed
    }
  });
});

describe('loader variants', () => {
  const saved = process.env.FUSEDRNN_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.FUSEDRNN_BACKEND;
    else process.env.FUSEDRNN_BACKEND = saved;
  });

  // Whether the CUDA part can run here decides what 'auto' and 'cuda' must do.
  function cudaUsable(): { usable: boolean; probe?: CudaProbeResult } {
    for (const p of [join(root, 'build/Release/fusedrnn.node'), cudaPrebuild]) {
      if (!existsSync(p)) continue;
      const a = requireAddon(p);
      if (a.buildInfo().cuda) {
        const probe = a.cudaProbe();
        return { usable: probe.ok, probe };
      }
    }
    return { usable: false };
  }

  it("'cpu' loads the CPU addon with no fallback note", () => {
    const s = nativeStatus({ backend: 'cpu' });
    expect(s).toMatchObject({ variant: 'cpu', requested: 'cpu' });
    expect(s.fallbackReason).toBeUndefined();
    expect(existsSync(s.path)).toBe(true);
  });

  it("'auto' uses CUDA when its probe is ok, else falls back to the CPU with a one-line reason", () => {
    const { usable } = cudaUsable();
    const s = nativeStatus({ backend: 'auto' });
    expect(s.requested).toBe('auto');
    if (usable) {
      expect(s.variant).toBe('cuda');
      expect(s.fallbackReason).toBeUndefined();
      expect(s.cudaProbe?.ok).toBe(true);
    } else {
      expect(s.variant).toBe('cpu');
      expect(s.fallbackReason).toMatch(/\S/);
      expect(s.fallbackReason).not.toContain('\n');
      if (s.cudaProbe) {
        expect(s.fallbackReason).toContain(s.cudaProbe.reason);
        if (s.cudaProbe.driverVersion === 0) expect(s.fallbackReason).toMatch(/no NVIDIA driver/);
      }
    }
    // loadNative() with no options reads FUSEDRNN_BACKEND (unset -> 'auto') and is cached.
    delete process.env.FUSEDRNN_BACKEND;
    expect(loadNative()).toBe(loadNative({ backend: 'auto' }));
  });

  it("'cuda' throws a clear Error when CUDA cannot be used, and loads it when it can", () => {
    const { usable } = cudaUsable();
    process.env.FUSEDRNN_BACKEND = 'cuda';
    if (usable) {
      expect(nativeStatus().variant).toBe('cuda');
    } else {
      expect(() => loadNative()).toThrowError(/the CUDA backend was requested but cannot be used: \S/);
      let message = '';
      try {
        loadNative({ backend: 'cuda' });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toContain('\n');
      const probe = cudaUsable().probe;
      if (probe && probe.driverVersion === 0) expect(message).toMatch(/no NVIDIA driver/);
    }
  });

  it('rejects an unknown backend name, from options or env', () => {
    expect(() => loadNative({ backend: 'gpu' as never })).toThrowError(TypeError);
    process.env.FUSEDRNN_BACKEND = 'tpu';
    expect(() => loadNative()).toThrowError(/FUSEDRNN_BACKEND/);
    process.env.FUSEDRNN_BACKEND = 'CPU';
    expect(nativeStatus().variant).toBe('cpu');
  });
});

describe('worker_threads', () => {
  function runWorker(code: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { root } });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (c) => (c === 0 ? undefined : reject(new Error(`worker exited with ${c}`))));
    });
  }

  it('the addon loads in a Worker (node-gyp-build directly), alongside the main thread', async () => {
    loadNative({ backend: 'cpu' }); // already loaded here: the worker gets its own instance
    const out = await runWorker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(${JSON.stringify(req.resolve('node-gyp-build'))})(workerData.root);
      parentPort.postMessage({ keys: Object.keys(addon), info: addon.buildInfo(), probe: addon.cudaProbe() });
    `);
    expect(out.keys).toEqual(expect.arrayContaining(['Model', 'buildInfo', 'cudaProbe']));
    expect(out.keys).not.toContain('ops');
    expect(out.info.napiVersion).toBe(8);
    expectProbeConsistent(out.probe);
  });

  it.skipIf(!existsSync(join(root, 'dist/index.js')))('the built dist/ loader works in a Worker', async () => {
    const out = await runWorker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const { pathToFileURL } = require('node:url');
      import(pathToFileURL(require('node:path').join(workerData.root, 'dist/index.js')).href)
        .then((m) => parentPort.postMessage({ status: m.nativeStatus({ backend: 'auto' }),
                                             keys: Object.keys(m.loadNative({ backend: 'auto' })) }))
        .catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `);
    expect(out.error).toBeUndefined();
    expect(['cpu', 'cuda']).toContain(out.status.variant);
    expect(out.keys).toContain('buildInfo');
  });
});
