// The SVG line chart and plotHistory, read back without trusting the drawing code: the axis ticks
// define the data->pixel maps, and every polyline point must sit where its datum maps (within a
// pixel), on linear and log axes. Rendering in a real browser is plot-render.test.ts.
import { describe, expect, it } from 'vitest';
import { type HistoryEntry, lineChartSvg, parseHistory, plotHistory } from '../lib/index.js';
import { readChart } from './helpers/svg-chart.js';

const xs = Array.from({ length: 40 }, (_, i) => 3 + i * 2.5);
const wave = xs.map((x) => Math.sin(x / 9) * 3 - 0.7);

function expectOnCurve(points: [number, number][], x: number[], y: number[], map: (x: number, y: number) => [number, number]) {
  expect(points.length).toBe(x.length);
  points.forEach(([px, py], i) => {
    const [ex, ey] = map(x[i], y[i]);
    expect(Math.abs(px - ex)).toBeLessThan(1);
    expect(Math.abs(py - ey)).toBeLessThan(1);
  });
}

describe('lineChartSvg', () => {
  it('maps every point to its pixel on linear axes whose ticks cover the data', () => {
    const svg = lineChartSvg([{ name: 'wave', x: xs, y: wave }, { name: 'line', x: [0, 100], y: [-4, 4] }], { width: 500, height: 300, title: 'T <&>' });
    const chart = readChart(svg);
    expect([chart.width, chart.height]).toEqual([500, 300]);
    expectOnCurve(chart.lines.get('wave')![0], xs, wave, (x, y) => [chart.xPixel(x), chart.yPixel(y)]);
    expectOnCurve(chart.lines.get('line')![0], [0, 100], [-4, 4], (x, y) => [chart.xPixel(x), chart.yPixel(y)]);
    // Ticks span the data and are round: equal steps of 1, 2 or 5 times a power of ten.
    for (const ticks of [chart.xTicks, chart.yTicks]) {
      const step = ticks[1] - ticks[0];
      expect(ticks.every((t, i) => i === 0 || Math.abs(t - ticks[i - 1] - step) < 1e-9)).toBe(true);
      expect([1, 2, 5]).toContain(Math.round(step / 10 ** Math.floor(Math.log10(step))));
    }
    expect(Math.min(...chart.xTicks)).toBeLessThanOrEqual(0);
    expect(Math.max(...chart.xTicks)).toBeGreaterThanOrEqual(100);
    expect(Math.min(...chart.yTicks)).toBeLessThanOrEqual(-4);
    expect(Math.max(...chart.yTicks)).toBeGreaterThanOrEqual(4);
    // Larger values are higher up (smaller y pixel); the title is escaped.
    expect(chart.yPixel(4)).toBeLessThan(chart.yPixel(-4));
    expect(svg).toContain('T &lt;&amp;&gt;');
  });

  it('log scale: equal ratios are equal distances, and points <= 0 split the line', () => {
    const x = [1, 2, 3, 4, 5, 6, 7];
    const y = [20, 2, 0.2, 0, 0.02, 0.002, 0.0002];
    const svg = lineChartSvg([{ name: 'decay', x, y }], { logScale: true });
    const chart = readChart(svg, { logY: true });
    const [before, after] = chart.lines.get('decay')!;
    expectOnCurve(before, x.slice(0, 3), y.slice(0, 3), (a, b) => [chart.xPixel(a), chart.yPixel(b)]);
    expectOnCurve(after, x.slice(4), y.slice(4), (a, b) => [chart.xPixel(a), chart.yPixel(b)]);
    // Independent of the tick fit: each tenfold drop moves the same number of pixels down.
    const drops = [...before, ...after].map(([, py]) => py);
    const gaps = drops.slice(1).map((d, i) => d - drops[i]);  // 0.2 -> 0.02 spans the split
    expect(gaps.length).toBe(5);
    for (const g of gaps) expect(Math.abs(g - gaps[0])).toBeLessThan(0.05);
    expect(gaps[0]).toBeGreaterThan(10);
    // Ticks are powers of ten covering the data.
    expect(chart.yTicks.filter((t) => Number.isInteger(Math.log10(t))).length).toBeGreaterThanOrEqual(6);
    expect(Math.min(...chart.yTicks)).toBeLessThanOrEqual(0.0002);
    expect(Math.max(...chart.yTicks)).toBeGreaterThanOrEqual(20);
  });

  it('rejects bad input naming it', () => {
    expect(() => lineChartSvg([])).toThrow(/series must be a non-empty array/);
    expect(() => lineChartSvg([{ name: 'a', x: [1, 2], y: [1] }])).toThrow(RangeError);
    expect(() => lineChartSvg([{ name: 'a', x: [1], y: ['1' as unknown as number] }])).toThrow(/series\[0\]\.x and \.y must be arrays of numbers/);
    expect(() => lineChartSvg([{ name: 'a', x: [1], y: [-1] }], { logScale: true })).toThrow(/log scale \(values must be > 0\)/);
    expect(() => lineChartSvg([{ name: 'a', x: [1], y: [1] }], { width: 10 })).toThrow(/options\.width must be in \[160, 10000\]/);
  });
});

describe('plotHistory', () => {
  const text = [
    { step: 10, epoch: 1, loss: 2.5, learningRate: 0.01, stepsPerSecond: 50 },
    { step: 20, epoch: 1, loss: 1.9, valLoss: 2.1, learningRate: 0.01, stepsPerSecond: 52 },
    { step: 30, epoch: 2, loss: 1.4, learningRate: 0.01, stepsPerSecond: 51 },
    { step: 40, epoch: 2, loss: 1.1, valLoss: 1.6, learningRate: 0.01, stepsPerSecond: 49 },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n{"step": 50, "ep';  // a torn last append
  const entries: HistoryEntry[] = parseHistory(text);

  it('reads the complete lines and draws training and validation loss on the same axes', () => {
    expect(entries.map((e) => e.step)).toEqual([10, 20, 30, 40]);
    for (const logScale of [false, true]) {
      const svg = plotHistory(entries, { logScale });
      const chart = readChart(svg, { logY: logScale });
      const map = (x: number, y: number): [number, number] => [chart.xPixel(x), chart.yPixel(y)];
      expectOnCurve(chart.lines.get('training loss')![0], [10, 20, 30, 40], [2.5, 1.9, 1.4, 1.1], map);
      expectOnCurve(chart.lines.get('validation loss')![0], [20, 40], [2.1, 1.6], map);
      expect(svg).toMatch(/<text class="legend"[^>]*>training loss<\/text>/);
      expect(svg).toMatch(/<text class="legend"[^>]*>validation loss<\/text>/);
      expect(svg).toContain(logScale ? 'loss (log scale)' : '>loss<');
      expect(svg).toContain('>step<');
    }
  });

  it('draws no validation line without validation losses; rejects what it cannot plot', () => {
    const svg = plotHistory(entries.map(({ valLoss: _, ...rest }) => rest));
    expect([...readChart(svg).lines.keys()]).toEqual(['training loss']);
    expect(() => plotHistory([])).toThrow(/nothing to plot/);
    expect(() => plotHistory('history.jsonl' as unknown as HistoryEntry[])).toThrow(TypeError);
    expect(() => plotHistory(entries, { colour: 'red' } as never)).toThrow(/unknown option 'colour'/);
    expect(() => parseHistory('{"step": 1}\n', 'h.jsonl')).toThrow(/h\.jsonl:1 is not a history entry/);
  });
});
