// Loss curves of a training history (history.jsonl): training and validation loss against the
// optimizer step, on the same axes.
import type { HistoryEntry } from '../history.js';
import { checkKeys, checkObject } from '../validate.js';
import { lineChartSvg, type LineChartOptions } from './svg.js';

/** How plotHistory draws (LineChartOptions less the labels it sets). */
export type PlotHistoryOptions = Pick<LineChartOptions, 'width' | 'height' | 'title' | 'logScale'>;

/**
 * An SVG of the training loss (and the validation loss, where entries have one) by step.
 * Read a checkpoint directory's history with readHistory(dir).
 * @returns the SVG document as text.
 * @throws TypeError when `entries` is not an array of history entries or an option is malformed;
 *   RangeError when nothing can be drawn (no entries; all losses <= 0 with logScale).
 */
export function plotHistory(entries: readonly HistoryEntry[], options: PlotHistoryOptions = {}): string {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array of history entries (readHistory gives one)');
  checkObject(options, 'options');
  checkKeys(options, ['width', 'height', 'title', 'logScale'], 'plotHistory options');
  entries.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof e.step !== 'number' || typeof e.loss !== 'number') {
      throw new TypeError(`entries[${i}] must be a history entry with numeric step and loss`);
    }
  });
  if (entries.length === 0) throw new RangeError('entries is empty: there is nothing to plot');
  const validated = entries.filter((e) => typeof e.valLoss === 'number');
  const series = [{ name: 'training loss', x: entries.map((e) => e.step), y: entries.map((e) => e.loss) }];
  if (validated.length > 0) {
    series.push({ name: 'validation loss', x: validated.map((e) => e.step), y: validated.map((e) => e.valLoss!) });
  }
  return lineChartSvg(series, { title: 'Training history', xLabel: 'step', yLabel: options.logScale ? 'loss (log scale)' : 'loss', ...options });
}
