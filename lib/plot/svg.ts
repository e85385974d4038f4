// A self-contained SVG line chart (no dependency, no script, no external font or stylesheet):
// series as polylines on shared axes, ticks at round values (powers of ten on a log axis), grid,
// axis labels and a legend. Points that cannot be drawn (not finite; <= 0 on a log axis) split
// the line rather than dropping to an edge.
import { checkBoolean, checkInt, checkObject } from '../validate.js';

/** One line of a chart. */
export interface ChartSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Any SVG colour (default: a palette colour by position). */
  color?: string;
  /** Stroke width in pixels (default 2). */
  width?: number;
  /** Draw the line dashed. */
  dashed?: boolean;
}

/** Layout and scale of a chart. */
export interface LineChartOptions {
  /** Pixels (default 720 x 420). */
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (base 10); values <= 0 are not drawn. Default false. */
  logScale?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const MARGIN = { left: 72, right: 20, top: 40, bottom: 52 };
const FONT = 'font-family="sans-serif" font-size="12"';

/** A linear map of data to pixels (log10 of the data on a log axis). */
interface Axis {
  toPixel(value: number): number;
  ticks: number[];
}

/**
 * Renders the series as an SVG document.
 * @returns the SVG text (UTF-8, starts with `<svg`).
 * @throws TypeError for malformed series or options; RangeError when a series' x and y lengths
 *   differ, or no point of any series can be drawn.
 */
export function lineChartSvg(series: readonly ChartSeries[], options: LineChartOptions = {}): string {
  if (!Array.isArray(series) || series.length === 0) throw new TypeError('series must be a non-empty array of {name, x, y}');
  checkObject(options, 'options');
  const width = checkInt(options.width ?? 720, 'options.width', 160, 10000);
  const height = checkInt(options.height ?? 420, 'options.height', 160, 10000);
  const log = checkBoolean(options.logScale ?? false, 'options.logScale');
  series.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.name !== 'string') throw new TypeError(`series[${i}].name must be a string`);
    if (!isNumbers(s.x) || !isNumbers(s.y)) throw new TypeError(`series[${i}].x and .y must be arrays of numbers`);
    if (s.x.length !== s.y.length) throw new RangeError(`series[${i}] has ${s.x.length} x values and ${s.y.length} y values`);
  });
  const drawable = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (drawable(s.x[i], s.y[i])) {
        xs.push(s.x[i]);
        ys.push(s.y[i]);
      }
    }
  }
  if (xs.length === 0) throw new RangeError(`no series has a point that can be drawn${log ? ' on a log scale (values must be > 0)' : ''}`);

  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const xAxis = linearAxis(Math.min(...xs), Math.max(...xs), left, right);
  const yAxis = log ? logAxis(Math.min(...ys), Math.max(...ys), bottom, top) : linearAxis(Math.min(...ys), Math.max(...ys), bottom, top);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (options.title !== undefined) {
    parts.push(`<text x="${width / 2}" y="${top / 2 + 5}" text-anchor="middle" font-family="sans-serif" font-size="15">${escapeXml(String(options.title))}</text>`);
  }
  for (const t of xAxis.ticks) {
    const px = fixed(xAxis.toPixel(t));
    parts.push(`<line class="grid" x1="${px}" y1="${top}" x2="${px}" y2="${bottom}" stroke="#e6e6e6"/>`);
    parts.push(`<line class="tick-x" data-value="${t}" x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 5}" stroke="black"/>`);
    parts.push(`<text x="${px}" y="${bottom + 18}" text-anchor="middle" ${FONT}>${formatTick(t)}</text>`);
  }
  for (const t of yAxis.ticks) {
    const y = yAxis.toPixel(t);
    const py = fixed(y);
    parts.push(`<line class="grid" x1="${left}" y1="${py}" x2="${right}" y2="${py}" stroke="#e6e6e6"/>`);
    parts.push(`<line class="tick-y" data-value="${t}" x1="${left - 5}" y1="${py}" x2="${left}" y2="${py}" stroke="black"/>`);
    parts.push(`<text x="${left - 8}" y="${fixed(y + 4)}" text-anchor="end" ${FONT}>${formatTick(t)}</text>`);
  }
  parts.push(`<path class="axes" d="M${left},${top}V${bottom}H${right}" fill="none" stroke="black"/>`);
  if (options.xLabel !== undefined) {
    parts.push(`<text x="${(left + right) / 2}" y="${height - 12}" text-anchor="middle" ${FONT}>${escapeXml(String(options.xLabel))}</text>`);
  }
  if (options.yLabel !== undefined) {
    const cy = (top + bottom) / 2;
    parts.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})" ${FONT}>${escapeXml(String(options.yLabel))}</text>`);
  }
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const stroke = `fill="none" stroke="${escapeXml(color)}" stroke-width="${s.width ?? 2}"${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"`;
    let run: string[] = [];
    const flush = () => {
      if (run.length > 0) parts.push(`<polyline data-series="${escapeXml(s.name)}" points="${run.join(' ')}" ${stroke}/>`);
      run = [];
    };
    for (let k = 0; k < s.x.length; k++) {
      if (drawable(s.x[k], s.y[k])) run.push(`${fixed(xAxis.toPixel(s.x[k]))},${fixed(yAxis.toPixel(s.y[k]))}`);
      else flush();
    }
    flush();
  });
  // Legend, top right inside the plot area.
  const legendWidth = 28 + 7 * Math.max(...series.map((s) => s.name.length));
  series.forEach((s, i) => {
    const y = top + 14 + 18 * i;
    const x = right - legendWidth;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    parts.push(`<line x1="${x}" y1="${y}" x2="${x + 20}" y2="${y}" stroke="${escapeXml(color)}" stroke-width="${s.width ?? 2}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text class="legend" x="${x + 26}" y="${y + 4}" ${FONT}>${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

function linearAxis(min: number, max: number, from: number, to: number): Axis {
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / 5);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let k = 0; lo + k * step <= hi + step * 1e-9; k++) ticks.push(roundTo(lo + k * step, step));
  return { toPixel: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks };
}

function logAxis(min: number, max: number, from: number, to: number): Axis {
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const ticks: number[] = [];
  // Under three decades, 2x and 5x ticks as well, so the axis has enough labels to read.
  const mantissas = hi - lo < 3 ? [1, 2, 5] : [1];
  for (let e = lo; e <= hi; e++) for (const m of mantissas) if (e < hi || m === 1) ticks.push(Number(`${m}e${e}`));
  return { toPixel: (v) => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from), ticks };
}

// 1, 2 or 5 times a power of ten, at least `raw`.
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-12))!;
}

// Removes the binary noise of lo + k*step (0.30000000000000004 -> 0.3).
function roundTo(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(digits, 20)));
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e5 || magnitude < 1e-3 ? value.toExponential().replace('e+', 'e') : String(value);
}

function fixed(px: number): string {
  return String(Math.round(px * 100) / 100);
}

function isNumbers(value: unknown): value is ArrayLike<number> {
  return (Array.isArray(value) && value.every((v) => typeof v === 'number')) || value instanceof Float64Array || value instanceof Float32Array;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
