// The published package: `npm pack` holds dist/, typings/, the prebuilds and the README, LICENSE
// and CHANGELOG (no tests, build trees or build sources), and a consumer project that installs the
// tarball can import (or require) it and load a prebuilt addon without compiling anything, on x64
// and on arm64 (Node for arm64 under qemu-aarch64: scripts/arm64-tools.sh). Run by `npm run
// test:pack` (not `npm test`: a fresh clone has no prebuilds), after `npm run build:ts` and `npm
// run prebuilds`; it FAILS when they are missing. Without nvcc there is no CUDA prebuild, and
// without qemu-aarch64 no arm64 run: those parts are skipped, saying so.
// FUSEDRNN_SKIP_PACK=1 skips the whole file, visibly.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot as root } from '../lib/native.js';

const skip = process.env.FUSEDRNN_SKIP_PACK === '1';
const CPU = 'prebuilds/linux-x64/fusedrnn.glibc.node';
const ARM64 = 'prebuilds/linux-arm64/fusedrnn.glibc.node';
const CUDA = 'cuda-addon/prebuilds/linux-x64/fusedrnn.glibc.node';
const nvcc = spawnSync(process.env.CUDACXX ?? 'nvcc', ['--version']).status === 0;
if (!nvcc) process.stderr.write(`\n[pack.test] no nvcc (PATH or CUDACXX): the CUDA prebuild (${CUDA}) is not built or checked.\n\n`);
const PREBUILDS = nvcc ? [CPU, ARM64, CUDA] : [CPU, ARM64];
const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].some((q) => spawnSync(q, ['--version']).status === 0);
if (!qemu) process.stderr.write('\n[pack.test] no qemu-aarch64: the arm64 consumer run is skipped (apt-get install qemu-user-static).\n\n');

if (skip) {
  process.stderr.write('\n[pack.test] SKIPPED: FUSEDRNN_SKIP_PACK=1 is set; npm pack and the consumer install are not checked.\n\n');
}

// A child env without the npm_* variables of the `npm test` that runs us (they would make the
// inner npm act on this repo's config / lifecycle).
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'FUSEDRNN_BACKEND' && k !== 'INIT_CWD') env[k] = v;
  }
  return { ...env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false', ...extra };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status}, ${r.error ?? ''}):\n${out}`);
  return String(r.stdout ?? '');
}

// What a consumer runs on each architecture: the addon it loads, a short training run, a sample.
const CONSUMER_SCRIPT = `
    import * as m from 'fusedrnn';
    const out = {};
    for (const backend of ['cpu', 'auto']) {
      const s = m.nativeStatus({ backend });
      const a = m.loadNative({ backend });
      out[backend] = { ...s, cudaProbe: undefined, info: a.buildInfo() };
    }
    try { m.loadNative({ backend: 'cuda' }); out.cuda = 'loaded'; } catch (e) { out.cuda = e.message; }
    out.arch = process.arch;
    out.exports = Object.keys(m);
    // Train the textbook model shape on the package's own corpus, and sample from it.
    const text = m.builtinCorpus().slice(0, 20000);
    const vocab = m.Vocabulary.fromText(text);
    const model = m.Model.create(m.charModelConfig({ vocabSize: vocab.size, units: 24, layers: 2, seed: 1 }));
    const losses = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      model.resetState();
      for (const batch of m.streamBatches(vocab.encode(text), 16, 25)) {
        losses.push((await model.trainStep(batch, { learningRate: 1e-2, clipNorm: 5, carryState: true })).loss);
      }
    }
    out.losses = [losses[0], losses[losses.length - 1]];
    out.sample = await m.sampleText(model, vocab, { prime: 'a', length: 20, seed: 1 });
    out.model = model.info();
    console.log(JSON.stringify(out));
  `;

describe.runIf(!skip)('npm pack + install into a consumer', () => {
  let tmp = '';
  let tarball = '';
  let files: string[] = [];
  let consumer = '';

  beforeAll(() => {
    const missing = [...PREBUILDS, 'dist/index.js', 'dist/index.d.ts'].filter((f) => !existsSync(join(root, f)));
    if (missing.length) {
      throw new Error(
        `missing ${missing.join(', ')}: run \`npm run build:ts\` and \`npm run prebuilds\` first ` +
          '(or set FUSEDRNN_SKIP_PACK=1 to skip this file)',
      );
    }
    tmp = mkdtempSync(join(tmpdir(), 'fusedrnn-pack-'));
    // --ignore-scripts: `prepare` would otherwise rebuild build/ under the other test files' feet.
    const json = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
      cwd: root,
      env: cleanEnv(),
    });
    const info = JSON.parse(json.slice(json.indexOf('[')))[0];
    tarball = join(tmp, info.filename);
    files = info.files.map((f: { path: string }) => f.path);

    consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2),
    );
    // node-gyp-build comes from the npm cache (the repo's own install put it there).
    run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: consumer,
      env: cleanEnv(),
    });
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds what a consumer uses: dist/ (no maps), typings/, both prebuilds and the docs files', () => {
    for (const f of [...PREBUILDS, 'dist/index.js', 'dist/index.d.ts', 'dist/native.js', 'typings/native.d.ts', 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
      expect(files, f).toContain(f);
    }
    const allowed = /^(dist\/.+\.(js|d\.ts)|typings\/[^/]+\.d\.ts|prebuilds\/linux-(x64|arm64)\/[^/]+\.node|cuda-addon\/prebuilds\/linux-x64\/[^/]+\.node|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    // Only the production addon: the test addon (op harness) must never reach a prebuild.
    expect(files.filter((f) => f.endsWith('.node') && !f.endsWith('/fusedrnn.glibc.node'))).toEqual([]);
  });

  it('the tarball holds no build sources: a consumer cannot build them (cmake-js and node-addon-api are devDependencies)', () => {
    const sources = files.filter((f) => /^(native|cuda|cmake|scripts|lib|test|bench|examples|docs)\//.test(f) || ['CMakeLists.txt', 'binding.gyp'].includes(f));
    expect(sources).toEqual([]);
  });

  it('a CommonJS consumer can require() the package (Node >= 20.19, the engines floor)', () => {
    const out = run(process.execPath, ['-e', "const m = require('fusedrnn'); console.log(typeof m.Model.create, typeof m.fit)"], {
      cwd: consumer,
      env: cleanEnv(),
    });
    expect(out.trim().split('\n').pop()).toBe('function function');
  });

  it('the installed package imports, loads a prebuild and trains without compiling', () => {
    const pkg = join(consumer, 'node_modules/fusedrnn');
    const out = consumerRun(process.execPath, []);
    expect(existsSync(join(pkg, 'build')), 'nothing was compiled in the consumer').toBe(false);
    expect(out.exports).toEqual(expect.arrayContaining(['loadNative', 'nativeStatus', 'Model', 'Vocabulary']));
    expect(out.model.backend).toBe('cpu');
    expect(out.losses[1]).toBeLessThan(out.losses[0] - 0.5);
    expect([...out.sample].length).toBe(20);
    expect(out.cpu.variant).toBe('cpu');
    expect(out.cpu.path).toBe(join(pkg, CPU));
    expect(out.cpu.info.cuda).toBe(false);
    if (out.auto.variant === 'cuda') {
      expect(out.auto.path).toBe(join(pkg, CUDA));
      expect(out.cuda).toBe('loaded');
    } else {
      expect(out.auto.path).toBe(join(pkg, CPU));
      expect(out.auto.fallbackReason).toMatch(/cuda-addon\/prebuilds/);
      expect(out.cuda).toMatch(/the CUDA backend was requested but cannot be used/);
    }
  });

  it.runIf(qemu)('on arm64 (Node for arm64 under qemu) it loads the arm64 prebuild and trains without compiling', () => {
    const pkg = join(consumer, 'node_modules/fusedrnn');
    const tools = Object.fromEntries(
      run('bash', [join(root, 'scripts/arm64-tools.sh')], { cwd: root, env: cleanEnv(), timeout: 300_000 })
        .trim().split('\n').map((line) => line.split('=', 2) as [string, string]),
    );
    const out = consumerRun(tools.QEMU!, [tools.NODE!], { QEMU_LD_PREFIX: tools.SYSROOT! });
    expect(out.arch).toBe('arm64');
    expect(existsSync(join(pkg, 'build')), 'nothing was compiled in the consumer').toBe(false);
    expect(out.cpu.path).toBe(join(pkg, ARM64));
    expect(out.auto.variant).toBe('cpu');
    expect(out.auto.fallbackReason).toMatch(/no CUDA build/);
    expect(['neon', 'neonbf16', 'generic']).toContain(out.model.cpu.instructionSet);
    expect(out.losses[1]).toBeLessThan(out.losses[0] - 0.5);
    expect([...out.sample].length).toBe(20);
  }, 300_000);

  // Runs CONSUMER_SCRIPT in the consumer with `node` (its arguments before the script's), and
  // returns what it printed.
  function consumerRun(node: string, args: string[], env: Record<string, string> = {}) {
    const stdout = run(node, [...args, '--input-type=module', '-e', CONSUMER_SCRIPT], {
      cwd: consumer, env: cleanEnv(env), timeout: 240_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  }

  it("the package's types check in a strict TypeScript consumer", () => {
    writeFileSync(
      join(consumer, 'check.ts'),
      `import { Model, loadNative, nativeStatus } from 'fusedrnn';\n` +
        `const v: 'cpu' | 'cuda' = nativeStatus({ backend: 'auto' }).variant;\n` +
        `const cuda: boolean = loadNative().buildInfo().cuda;\n` +
        `const model: Model = Model.create({ input: { type: 'oneHot', vocabSize: 3 }, layers: [{ units: 4 }], dense: [{ units: 3 }] });\n` +
        `const loss: Promise<number> = model.trainStep({ inputs: new Int32Array(2), targets: new Int32Array(2), batchSize: 1, steps: 2 }).then((r) => r.loss);\n` +
        `export { v, cuda, loss };\n`,
    );
    // skipLibCheck off: the published .d.ts files themselves must type-check for consumers.
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', module: 'nodenext',
          moduleResolution: 'nodenext', typeRoots: [join(root, 'node_modules/@types')], types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, env: cleanEnv() });
  });
});

if (skip) {
  describe('npm pack (skipped)', () => {
    it.skip('FUSEDRNN_SKIP_PACK=1: npm pack and the consumer install were not checked', () => {});
  });
}
