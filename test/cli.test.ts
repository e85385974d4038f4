// The fusedrnn command end to end (the compiled dist/cli/main.js, as npm's bin runs it): train a
// tiny model into a temp dir, resume it, sample from it; user mistakes give one line and exit != 0.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateData, loadCheckpoint, nativeStatus, sampleText, streamBatches } from '../lib/index.js';
import { cliPath as cli, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-cli-'));
const corpus = join(dir, 'corpus.txt');
const checkpoints = join(dir, 'ckpt');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(dir, ...args);

const tiny = ['--units', '17', '--layers', '1', '--batch-size', '3', '--seq-len', '11', '--log-every', '2', '--dir', checkpoints];

describe('fusedrnn CLI', () => {
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npx tsc -p tsconfig.json (npm ci does)`);
    writeFileSync(corpus, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(20));
  });

  it('trains, checkpoints every N steps, resumes and samples at the end', async () => {
    const first = await run('train', corpus, ...tiny, '--steps', '6', '--every', '3', '--sample-length', '25', '--seed', '2', '--prime', 'It ');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/step 6\/6 .* loss \d+\.\d{4}  \d+\.\d s  ETA 0s\n/);
    expect(first.stdout).toMatch(/^step 2\/6  epoch 1  loss \d+\.\d{4}  \d+\.\d s  ETA \d+s$/m);
    expect(first.stdout).toMatch(/validation loss \d/);
    expect(first.stdout).toMatch(/--- sample ---\nIt .{25}\n$/s);
    expect(readdirSync(checkpoints).filter((n) => n.endsWith('.safetensors')).sort()).toEqual(['ckpt-00000003.safetensors', 'ckpt-00000006.safetensors']);
    const resumed = await run('train', corpus, ...tiny, '--steps', '8', '--every', '3', '--sample-length', '0', '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resumed from .*ckpt-00000006.safetensors at step 6/);
    expect(resumed.stdout).toMatch(/step 8\/8/);
    const latest = await loadCheckpoint(join(checkpoints, 'ckpt-00000008.safetensors'));
    expect(latest.step).toBe(8);
    expect(latest.dataCursor).toMatchObject({ step: 8 });
    latest.model.dispose();
  });

  it('streams a reproducible sample from a directory or a file', async () => {
    const a = await run('sample', checkpoints, '--length', '40', '--seed', '5', '--prime', 'It ', '--top-k', '4');
    const b = await run('sample', join(checkpoints, 'ckpt-00000008.safetensors'), '--length', '40', '--seed', '5', '--prime', 'It ', '--top-k', '4');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^It .{40}\n$/s);
    expect(b.stdout).toBe(a.stdout);
    const two = await run('sample', checkpoints, '--length', '10', '--count', '2', '--seed', '1', '--prime', 'It ', '--no-prime');
    expect(two.stdout).toMatch(/^--- sample 1 ---\n.{10}\n--- sample 2 ---\n.{10}\n$/s);
  });

  it('samples with bf16 or int8 products on request, as the library does', async () => {
    const file = join(checkpoints, 'ckpt-00000008.safetensors');
    for (const precision of ['bf16', 'int8'] as const) {
      const got = await run('sample', file, '--length', '30', '--seed', '3', '--prime', 'It ', '--no-prime', '--precision', precision);
      expect(got.code).toBe(0);
      const { model, vocabulary } = await loadCheckpoint(file);
      const want = await sampleText(model, vocabulary!, { prime: 'It ', length: 30, seed: 3, precision });
      model.dispose();
      expect(got.stdout, precision).toBe(`${want}\n`);
    }
    const bad = await run('sample', file, '--precision', 'int4');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--precision must be one of fp32, bf16, int8/);
  });

  it('prints help and info', async () => {
    for (const command of ['train', 'sample', 'info']) {
      const help = await run(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: fusedrnn ${command}`));
    }
    expect((await run('train', '--help')).stdout).toMatch(/--units <int>.*\(default 512\)/);
    const info = await run('info');
    expect(info.stdout).toMatch(/^fusedrnn \d+\.\d+\.\d+/);
    expect(info.stdout).toMatch(/backend: (cpu|cuda)/);
    expect(info.stdout).toMatch(/build: .*napiVersion=8/);
  });

  it('answers user mistakes with one line and a non-zero exit, never a stack trace', async () => {
    const truncated = join(dir, 'bad.safetensors');
    writeFileSync(truncated, Buffer.from([1, 2, 3]));
    const oneChar = join(dir, 'one.txt');
    writeFileSync(oneChar, 'x');
    const cases: [string[], RegExp][] = [
      [['bogus'], /unknown command 'bogus'/],
      [['train', '--units', 'many'], /--units must be an integer/],
      [['train', '--nope'], /unknown option --nope/],
      [['train', '--unts', '3'], /unknown option --unts for 'train' \(did you mean --units\?/],
      [['sample', checkpoints, '--temprature', '2'], /did you mean --temperature\?/],
      [['train', '--cell', 'gur'], /--cell must be one of lstm, gru, rnn, got "gur" \(did you mean gru\?\)/],
      [['train', '--precision', 'bf16'], /--precision must be one of tf32, fp32/],
      [['train', corpus, '--prime', 'Ω', '--dir', join(dir, 'never')], /--prime has a character the vocabulary lacks: "Ω"/],
      [['train', join(dir, 'missing.txt')], /cannot read corpus .*ENOENT/],
      [['train', oneChar], /corpus .*one\.txt has 1 character: training needs at least 2/],
      [['train', corpus, '--resume', '--dir', join(dir, 'empty')], /no checkpoint in/],
      [['sample'], /exactly one checkpoint/],
      [['sample', truncated], /not a valid safetensors file/],
      [['sample', checkpoints, '--prime', 'Ω'], /--prime has a character the vocabulary lacks: "Ω"/],
      [['sample', checkpoints, '--top-p', '2'], /--top-p must be a number in/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBeGreaterThan(0);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // The bad prime was refused before any training: nothing was written.
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('trains GRU and vanilla RNN cells with the placement and precision flags', async () => {
    for (const cell of ['gru', 'rnn'] as const) {
      const target = join(dir, `cell-${cell}`);
      const r = await run('train', corpus, ...tiny.slice(0, -2), '--dir', target, '--cell', cell, '--backend', 'cpu', '--precision', 'fp32', '--steps', '2', '--sample-length', '5');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { model } = await loadCheckpoint(join(target, 'ckpt-00000002.safetensors'));
      expect(model.config.layers.map((l) => l.cell)).toEqual([cell]);
      expect(model.params().some((p) => p.name === 'rnn.weight_hh_l0')).toBe(true);
      model.dispose();
    }
  });

  it('--backend cuda without a usable GPU is one line naming the flag (and trains where there is one)', async () => {
    const r = await run('train', corpus, ...tiny.slice(0, -2), '--dir', join(dir, 'cuda'), '--backend', 'cuda', '--steps', '1', '--sample-length', '0');
    if (nativeStatus({ backend: 'auto' }).variant === 'cuda') {
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/parameters, cuda\/float32/);
    } else {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^fusedrnn: --backend cuda: .*cannot be used/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('measures validation statefully over the held-out text by default, from zero states with --val-stateless', async () => {
    const text = 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(20);
    const expected = async (path: string, stateful: boolean) => {
      const { model, vocabulary } = await loadCheckpoint(path);
      const ids = vocabulary!.encode(text);
      const held = ids.subarray(ids.length - Math.floor(ids.length * 0.1));
      const rows = Math.min(3, Math.floor((held.length - 1) / 11));
      const r = await evaluateData(model, [...streamBatches(held, rows, 11)], { stateful });
      model.dispose();
      return r.loss.toFixed(4);
    };
    const losses: Record<string, string> = {};
    for (const mode of ['stateful', 'stateless'] as const) {
      const target = join(dir, `val-${mode}`);
      const r = await run('train', corpus, ...tiny.slice(0, -2), '--dir', target, '--steps', '3', '--sample-length', '0', ...(mode === 'stateless' ? ['--val-stateless'] : []));
      expect(r.code).toBe(0);
      const printed = /validation loss (\d+\.\d{4})/.exec(r.stdout);
      expect(printed, r.stdout).not.toBeNull();
      expect(printed![1]).toBe(await expected(join(target, 'ckpt-00000003.safetensors'), mode === 'stateful'));
      losses[mode] = printed![1];
    }
    // Same weights (same seed and steps), different measure.
    expect(losses.stateful).not.toBe(losses.stateless);
    const help = (await run('train', '--help')).stdout;
    expect(help).toMatch(/Validation loss is measured statefully .* unless --val-stateless/);
    expect(help).toMatch(/--cell <lstm\|gru\|rnn> .*\(default "lstm"\)/);
    expect(help).toMatch(/--dropout <number> +drop probability on each layer's output while training, 1 - keep_prob \(default 0\.5\)/);
  });
});

describe('fusedrnn train interrupted', () => {
  // Waits for the child's first step line (no timing), signals it, and checks that it saved and
  // said so; the checkpoint then samples and resumes.
  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} stops after the current step, saves, says where and exits ${exitCode}`, async () => {
      const target = join(dir, `interrupted-${signal}`);
      const child = spawn(process.execPath, [cli, 'train', corpus, ...tiny.slice(0, -2), '--dir', target, '--log-every', '1', '--steps', '100000'], { cwd: dir });
      let stdout = '';
      let signalled = false;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!signalled && /^step \d+\//m.test(stdout)) {
          signalled = true;
          child.kill(signal);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(exitCode);
      const saved = /interrupted at step (\d+); saved (.*\.safetensors)/.exec(stdout);
      expect(saved, stdout).not.toBeNull();
      expect(existsSync(saved![2])).toBe(true);
      const sample = await run('sample', target, '--length', '12', '--seed', '1', '--prime', 'It');
      expect(sample.code).toBe(0);
      expect(sample.stdout.length).toBeGreaterThan(0);
      const resumed = await run('train', corpus, ...tiny.slice(0, -2), '--dir', target, '--resume', '--steps', String(Number(saved![1]) + 2));
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
    });
  }
});

describe('fusedrnn train on a terminal', () => {
  it('draws the progress bar (epoch, step, loss, s/batch, ETA) instead of log lines', async () => {
    const { runTraining } = await import('../lib/cli/train-loop.js');
    const { CheckpointManager, Model, Vocabulary, charModelConfig } = await import('../lib/index.js');
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
    const vocab = Vocabulary.fromText(text);
    const written: string[] = [];
    const out = Object.assign(new (await import('node:stream')).Writable({ write: (c, _e, cb) => (written.push(String(c)), cb()) }), {
      isTTY: true,
      columns: 100,
    });
    await runTraining({
      model: Model.create(charModelConfig({ vocabSize: vocab.size, units: 8, layers: 1 })),
      vocab,
      train: vocab.encode(text),
      batchSize: 2,
      steps: 10,
      epochs: 2,
      stepOptions: { learningRate: 0.01 },
      logEvery: 5,
      manager: new CheckpointManager({ directory: join(dir, 'tty'), every: 0 }),
      cursor: { epoch: 0, batch: 0, step: 0 },
      out,
    });
    const all = written.join('');
    expect(all).toMatch(/\r\[=+ *\] epoch \d\/2 step \d+\/44 loss \d+\.\d{4} \d+\.\d{3} s\/batch ETA \d+s/);
    expect(all).not.toMatch(/^step \d+\/\d+ {2}epoch/m);
    expect(all).toMatch(/\r\x1b\[Kcheckpoint .*ckpt-00000088\.safetensors/);
  });
});
