// The chart as a browser draws it: headless Chromium renders plotHistory's SVG to a PNG, and the
// pixels where the data says the curves run must carry the curves' colours (and a point well off
// the curves must not). Skipped, with the reason printed, where no Chromium is installed
// (Debian: apt-get install chromium; $FUSEDRNN_CHROMIUM names another binary).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type HistoryEntry, plotHistory } from '../lib/index.js';
import { decodePng, pixel, type Image } from './helpers/png.js';
import { readChart } from './helpers/svg-chart.js';

function findChromium(): { chromium?: string; reason: string } {
  const candidates = [process.env.FUSEDRNN_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean) as string[];
  for (const chromium of candidates) {
    try {
      execFileSync(chromium, ['--version'], { stdio: 'ignore', timeout: 60_000 });
      return { chromium, reason: '' };
    } catch {
      // try the next
    }
  }
  return { reason: `no Chromium (tried ${candidates.join(', ')}; apt-get install chromium)` };
}

const { chromium, reason } = findChromium();
if (!chromium) console.warn(`[plot-render.test] SKIPPED: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'fusedrnn-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Renders an SVG file at its own size, one CSS pixel per image pixel. */
function render(svgPath: string, width: number, height: number): Image {
  const png = join(dir, 'shot.png');
  execFileSync(
    chromium!,
    [
      '--headless',
      '--no-sandbox',  // CI runs as root, where Chromium's sandbox refuses to start
      '--disable-gpu',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      `--user-data-dir=${join(dir, 'profile')}`,
      `--window-size=${width},${height}`,
      `--screenshot=${png}`,
      `file://${svgPath}`,
    ],
    { stdio: 'ignore', timeout: 120_000 },
  );
  return decodePng(readFileSync(png));
}

const RED = [214, 39, 40];
const BLUE = [31, 119, 180];
// Anti-aliasing blends the line's edge with white: look for the colour within 2 px of the point.
function near(image: Image, x: number, y: number, rgb: number[]): boolean {
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -2; dx <= 2; dx++) {
      const p = pixel(image, x + dx, y + dy);
      if (p.every((c, k) => Math.abs(c - rgb[k]) <= 40)) return true;
    }
  }
  return false;
}

describe.skipIf(!chromium)('plotHistory rendered by Chromium', () => {
  const entries: HistoryEntry[] = Array.from({ length: 30 }, (_, i) => ({
    step: (i + 1) * 10,
    epoch: 1 + Math.floor(i / 10),
    loss: 3 * Math.exp(-i / 8) + 0.2,
    ...(i % 5 === 4 ? { valLoss: 3.3 * Math.exp(-i / 9) + 0.35 } : {}),
    learningRate: 1e-3,
    stepsPerSecond: 40,
  }));

  for (const logScale of [false, true]) {
    it(`draws both curves where the data says (${logScale ? 'log' : 'linear'} scale)`, () => {
      const svg = plotHistory(entries, { logScale, width: 640, height: 400 });
      const svgPath = join(dir, `history-${logScale}.svg`);
      writeFileSync(svgPath, svg);
      const image = render(svgPath, 640, 400);
      expect([image.width, image.height]).toEqual([640, 400]);
      const chart = readChart(svg, { logY: logScale });
      const at = (step: number, loss: number) => [chart.xPixel(step), chart.yPixel(loss)] as const;
      for (const e of entries) {
        expect(near(image, ...at(e.step, e.loss), BLUE)).toBe(true);
        if (e.valLoss !== undefined) expect(near(image, ...at(e.step, e.valLoss), RED)).toBe(true);
      }
      // Well above both curves the plot area is background, not line colour.
      for (const e of entries.slice(10)) {
        const [x] = at(e.step, e.loss);
        const [, y] = at(e.step, Math.max(e.loss, e.valLoss ?? 0) * (logScale ? 4 : 1) + (logScale ? 0 : 1.2));
        expect(near(image, x, y, BLUE) || near(image, x, y, RED)).toBe(false);
      }
    }, 150_000);
  }
});
