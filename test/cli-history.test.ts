// `fusedrnn train` records history.jsonl (one entry per checkpoint), `--resume` drops the entries
// past the resumed step, `fusedrnn plot` draws the history, `fusedrnn export` reports bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHistory } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { readChart } from './helpers/svg-chart.js';

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-cli-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(dir, ...args);

describe('fusedrnn train history and plot', () => {
  const corpus = join(dir, 'corpus.txt');
  const checkpoints = join(dir, 'ckpt');
  const tiny = ['--units', '9', '--layers', '1', '--batch-size', '2', '--seq-len', '8', '--sample-length', '0', '--every', '3', '--dir', checkpoints];

  it('records an entry per checkpoint; --resume drops those past the resumed step; plot draws them', async () => {
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(12));
    const first = await run('train', corpus, ...tiny, '--steps', '9');
    expect(first.stderr).toBe('');
    const firstHistory = await readHistory(checkpoints);
    expect(firstHistory.map((e) => e.step)).toEqual([3, 6, 9]);
    expect(firstHistory.every((e) => e.valLoss! > 0 && e.loss > 0 && e.learningRate > 0 && e.stepsPerSecond > 0)).toBe(true);

    rmSync(join(checkpoints, 'ckpt-00000009.safetensors'));
    const resumed = await run('train', corpus, ...tiny, '--steps', '12', '--resume');
    expect(resumed.stdout).toMatch(/resumed from .*ckpt-00000006\.safetensors at step 6/);
    const history = await readHistory(checkpoints);
    expect(history.map((e) => e.step)).toEqual([3, 6, 9, 12]);
    expect(history.slice(0, 2)).toEqual(firstHistory.slice(0, 2));

    const plotted = await run('plot', checkpoints, '--log', '--out', join(dir, 'plots', 'loss.svg'));
    expect(plotted.stderr).toBe('');
    const chart = readChart(readFileSync(join(dir, 'plots', 'loss.svg'), 'utf8'), { logY: true });
    const [training] = chart.lines.get('training loss')!;
    history.forEach((e, i) => {
      expect(Math.abs(training[i][0] - chart.xPixel(e.step))).toBeLessThan(1);
      expect(Math.abs(training[i][1] - chart.yPixel(e.loss))).toBeLessThan(1);
    });
    expect(chart.lines.get('validation loss')![0].length).toBe(4);
    expect((await run('plot', checkpoints)).stdout).toContain(join(checkpoints, 'history.svg'));
  });

  it('plot and export report bad input in one line', async () => {
    const missing = await run('plot', join(dir, 'nowhere'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^fusedrnn: cannot read .*nowhere: ENOENT\n$/);
    expect((await run('plot')).code).toBe(2);
    const exported = await run('export', join(dir, 'nowhere.safetensors'), join(dir, 'out.safetensors'));
    expect(exported.code).toBe(2);
    expect(exported.stderr).toMatch(/nowhere\.safetensors/);
    expect((await run('export', '--help')).stdout).toMatch(/load_state_dict\(strict=True\)/);
  });
});
