// The bench's statistics and table (bench/report.mjs) and its data helpers (bench/workloads.mjs):
// the arithmetic behind every published ratio. No timing here; speed lives in bench/.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without types, outside the compiled lib/
import { CPU_HISTORY_REFERENCE, REFERENCE_BLAS_REFUSAL, addRatios, historyLine, markdown, mergeRounds, summarize } from '../bench/report.mjs';
// @ts-expect-error plain ESM without types, outside the compiled lib/
import { WORKLOADS, charBatch, drawFromLogits, seededRandom, seriesBatch } from '../bench/workloads.mjs';

describe('summarize', () => {
  it('takes the median of unsorted samples, odd and even counts', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(summarize([4, 10, 1, 2])).toEqual({ median: 3, min: 1, max: 10, runs: 4 });
  });
});

describe('mergeRounds', () => {
  it('pools the samples of interleaved rounds, keeps the largest RSS and names failed rounds', () => {
    const m = mergeRounds([
      { ok: true, samples: [3, 1], peakRssMB: 50, notes: ['a'], version: 'v' },
      { ok: false, reason: 'timed out' },
      { ok: true, samples: [2], peakRssMB: 70, notes: ['a'], version: 'v' },
    ]);
    expect(m.samples).toEqual([3, 1, 2]);
    expect(summarize(m.samples).median).toBe(2);
    expect(m.peakRssMB).toBe(70);
    expect(m.rounds).toBe(2);
    expect(m.notes).toEqual(['a', '1 of 3 rounds failed: timed out']);
  });

  it('with no successful round, is the last failure', () => {
    expect(mergeRounds([{ ok: false, reason: 'x' }, { ok: false, reason: 'y' }])).toEqual({ ok: false, reason: 'y' });
  });
});

describe('addRatios', () => {
  const results = () => [
    { workload: 'W1', peer: 'fusedrnn cpu', ok: true, median: 20 },
    { workload: 'W1', peer: 'pytorch', ok: true, median: 60 },
    { workload: 'W1', peer: 'brain.js', ok: true, median: 300, perSequence: true },
    { workload: 'W1', peer: 'tfjs-node', ok: false, reason: 'not installed' },
    { workload: 'W5', peer: 'pytorch', ok: true, median: 4 },
  ];

  it('divides each peer by fusedrnn of the same workload; per-sequence peers count B sequences', () => {
    const r = addRatios(results(), WORKLOADS);
    expect(r[1].ratio).toBeCloseTo(3);
    expect(r[2].ratio).toBeCloseTo((300 * WORKLOADS.W1.batch) / 20);
    expect(r[0].ratio).toBeUndefined();
    expect(r[3].ratio).toBeUndefined();
    expect(r[4].ratio).toBeUndefined(); // no fusedrnn figure for W5 in this run
  });

  it('refuses a ratio against PyTorch on the reference BLAS, naming the package to install', () => {
    const r = addRatios(results().map((x) => (x.peer === 'pytorch' ? { ...x, blas: 'reference' } : x)), WORKLOADS);
    expect(r[1].ratio).toBeUndefined();
    expect(r[1].ratioRefused).toBe(REFERENCE_BLAS_REFUSAL);
    expect(REFERENCE_BLAS_REFUSAL).toContain('libopenblas0-openmp');
    expect(r[2].ratio).toBeCloseTo((300 * WORKLOADS.W1.batch) / 20); // other peers keep theirs
    const md: string = markdown(
      {
        date: '2026-01-01', quick: false,
        machine: { cpu: 'x', cores: 2, memoryGB: 8, node: '20', loadStart: ['1'], loadEnd: ['2'] },
        plan: { warmup: 1, runs: 5, budgetSeconds: 60 }, skipped: [],
        results: r.map((x: object) => ({ min: 1, max: 1, runs: 5, threads: 1, precision: 'float32', version: 'v', ...x })),
      },
      WORKLOADS,
    );
    expect(md).toContain(`| W1 | pytorch | 60.0 ms/step | 1.00 – 1.00 | 5 | ${REFERENCE_BLAS_REFUSAL} |`);
    expect(md).not.toContain('3.00×');
  });

  it('puts results, ratios and grouped reasons into the table', () => {
    const run = {
      date: '2026-01-01', quick: false, note: 'shared machine',
      machine: { cpu: 'x', cores: 2, memoryGB: 8, node: '20', loadStart: ['1'], loadEnd: ['2'] },
      plan: { warmup: 1, runs: 5, budgetSeconds: 60 }, skipped: [],
      results: addRatios(
        [
          ...results().map((x) => ({ ...x, min: x.median, max: x.median, runs: 5, threads: 1, precision: 'float32', version: 'v' })),
          { workload: 'W2', peer: 'tfjs-node', ok: false, reason: 'not installed' },
          { workload: 'W4', peer: 'fusedrnn cpu', ok: true, median: 50, min: 49, max: 52, runs: 5, threads: 1, precision: 'float32', version: 'v',
            bound: { weightBytes: 2 ** 21, readGBs: 100, usPerChar: 20.97, how: 'memcmp' } },
        ],
        WORKLOADS,
      ),
    };
    const md: string = markdown(run, WORKLOADS);
    expect(md).toContain('| W1 | pytorch | 60.0 ms/step |');
    expect(md).toContain('3.00×');
    expect(md).toContain('480×'); // brain.js: 300 ms per sequence x 32 / 20 ms
    expect(md).toContain('- W1, W2 tfjs-node: not installed');
    expect(md).toContain('Note: shared machine');
    expect(md).toContain('W4 weight-streaming bound (fusedrnn cpu): 21.0 µs/char = 2.00 MiB of weights at 100 GB/s');
  });
});

describe('workload data', () => {
  it('is seeded, in range and not all zeros', () => {
    const a = charBatch(WORKLOADS.W1);
    expect(a.inputs).toEqual(charBatch(WORKLOADS.W1).inputs);
    expect(a.inputs.length).toBe(32 * 50);
    expect(Math.max(...a.inputs)).toBeLessThan(83);
    expect(new Set(a.targets).size).toBeGreaterThan(40);
    const s = seriesBatch(WORKLOADS.W5);
    expect(s.inputs.length).toBe(64 * 20);
    expect(s.inputs.some((v: number) => Math.abs(v) > 0.5)).toBe(true);
  });

  it('draws by softmax(logits / temperature)', () => {
    const rand = seededRandom(9);
    const counts = [0, 0, 0];
    const logits = Float32Array.of(0, Math.log(3), -Infinity);
    for (let i = 0; i < 4000; i++) counts[drawFromLogits(logits, 1, rand)]++;
    expect(counts[2]).toBe(0);
    expect(counts[1] / 4000).toBeGreaterThan(0.72); // p = 0.75
    expect(counts[1] / 4000).toBeLessThan(0.78);
    const cold = seededRandom(9);
    for (let i = 0; i < 100; i++) expect(drawFromLogits(logits, 0.01, cold)).toBe(1);
  });
});

describe('historyLine', () => {
  it("one row per full CPU run: fusedrnn's median / PyTorch's per workload, '—' where one did not run", () => {
    const run = {
      date: '2026-12-05',
      results: [
        { workload: 'W1', peer: 'fusedrnn cpu', ok: true, median: 60.31 },
        { workload: 'W1', peer: CPU_HISTORY_REFERENCE, ok: true, median: 110.5 },
        { workload: 'W2', peer: 'fusedrnn cpu', ok: true, median: 1315.2 },
        { workload: 'W2', peer: CPU_HISTORY_REFERENCE, ok: false, reason: 'timed out' },
      ],
    };
    const line = historyLine(run, { W1: WORKLOADS.W1, W2: WORKLOADS.W2 }, { commit: 'abc1234', kind: 'cpu-2core' });
    expect(line).toBe('| 2026-12-05 | abc1234 | cpu-2core | 60.3 / 111 | 1 315 / — |\n');
    const onReference = { ...run, results: run.results.map((x) => (x.peer === CPU_HISTORY_REFERENCE ? { ...x, blas: 'reference' } : x)) };
    expect(historyLine(onReference, { W1: WORKLOADS.W1 }, { commit: 'abc1234', kind: 'cpu-2core' })).toBe(
      '| 2026-12-05 | abc1234 | cpu-2core | 60.3 / 111 (reference BLAS) |\n',
    );
  });

  it("adds W4's reduced-precision generation medians in brackets, those that ran", () => {
    const run = {
      date: '2026-12-06',
      results: [
        { workload: 'W4', peer: 'fusedrnn cpu', ok: true, median: 24.81 },
        { workload: 'W4', peer: CPU_HISTORY_REFERENCE, ok: true, median: 360.2 },
        { workload: 'W4', peer: 'fusedrnn cpu bf16', ok: true, median: 12.61 },
        { workload: 'W4', peer: 'fusedrnn cpu int8', ok: true, median: 8.58 },
      ],
    };
    expect(historyLine(run, { W4: WORKLOADS.W4 }, { commit: 'abc1234', kind: 'cpu-2core' })).toBe(
      '| 2026-12-06 | abc1234 | cpu-2core | 24.8 / 360 (bf16 12.6, int8 8.58) |\n',
    );
    const noInt8 = { ...run, results: run.results.filter((r) => r.peer !== 'fusedrnn cpu int8') };
    expect(historyLine(noInt8, { W4: WORKLOADS.W4 }, { commit: 'abc1234', kind: 'cpu-2core' })).toBe(
      '| 2026-12-06 | abc1234 | cpu-2core | 24.8 / 360 (bf16 12.6) |\n',
    );
  });
});
