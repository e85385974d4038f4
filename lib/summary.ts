// Model.summary()'s table and the short description util.inspect shows: what a Keras user reads
// from model.summary(), computed from the config and the model's real parameter tensors.
import type { ModelConfig } from './model-config.js';
import type { ModelInfo, ParamInfo } from './model-types.js';
import { activationOf, ATTENTION_OPTIONS, cellOf, setting } from './options/model-config.js';

/** One row of the summary: a layer, its output shape and the parameters it owns. */
export interface SummaryRow {
  layer: string;
  /** Keras-style, batch and steps symbolic: '(batch, steps, 512)'. */
  outputShape: string;
  params: number;
}

const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

// Which row owns a parameter: recurrent and condition tensors by their layer index (_l{k}), the
// rest by their prefix (embedding, attention, dense{k}).
function ownerOf(name: string): string {
  const [prefix] = name.split('.', 1);
  const layer = /_l(\d+)(?:_reverse)?$/.exec(name)?.[1];
  if ((prefix === 'rnn' || prefix === 'condition') && layer !== undefined) return `${prefix}:${layer}`;
  return prefix;
}

/** The summary's rows, in data-flow order; every parameter belongs to exactly one row. */
export function summaryRows(config: Readonly<ModelConfig>, params: readonly ParamInfo[]): SummaryRow[] {
  const owned = new Map<string, number>();
  for (const p of params) owned.set(ownerOf(p.name), (owned.get(ownerOf(p.name)) ?? 0) + size(p.shape));
  const take = (key: string) => {
    const n = owned.get(key) ?? 0;
    owned.delete(key);
    return n;
  };
  const perStep = setting(config, 'output') === 'sequence';
  const rows: SummaryRow[] = [];
  const input = config.input;
  if (input.type === 'embedding') {
    rows.push({ layer: `embedding (${input.vocabSize} -> ${input.dim}${input.frozen ? ', frozen' : ''})`, outputShape: `(batch, steps, ${input.dim})`, params: take('embedding') });
  } else if (input.type === 'oneHot') {
    rows.push({ layer: `one-hot (${input.vocabSize})`, outputShape: `(batch, steps, ${input.vocabSize})`, params: 0 });
  } else {
    rows.push({ layer: `features (${input.size})`, outputShape: `(batch, steps, ${input.size})`, params: 0 });
  }
  config.layers.forEach((l, k) => {
    const width = l.units * (l.bidirectional ? 2 : 1);
    const last = k === config.layers.length - 1 && !perStep;
    const cell = `${l.bidirectional ? 'bidirectional ' : ''}${cellOf(l)}${l.peephole ? ' (peephole)' : ''}`;
    rows.push({ layer: `${cell} ${l.units}`, outputShape: last ? `(batch, ${width})` : `(batch, steps, ${width})`, params: take(`rnn:${k}`) });
    const condition = take(`condition:${k}`);
    if (condition > 0) rows.push({ layer: `  condition -> layer ${k} state`, outputShape: `(batch, ${width})`, params: condition });
  });
  if (config.attention !== undefined) {
    const width = config.layers[config.layers.length - 1].units * (config.layers[config.layers.length - 1].bidirectional ? 2 : 1);
    rows.push({ layer: `attention (${config.attention.score ?? ATTENTION_OPTIONS.score.default})`, outputShape: `(batch, steps, ${width})`, params: take('attention') });
  }
  config.dense.forEach((d, k) => {
    const key = config.dense.length === 1 ? 'dense' : `dense${k}`;
    rows.push({
      layer: `dense ${d.units}${activationOf(d) === 'linear' ? '' : ` (${d.activation})`}`,
      outputShape: perStep ? `(batch, steps, ${d.units})` : `(batch, ${d.units})`,
      params: take(key),
    });
  });
  // Anything a future layout adds still counts, under its own name.
  for (const [key, n] of owned) rows.push({ layer: key, outputShape: '', params: n });
  return rows;
}

/** The text table Model.summary() returns. */
export function formatSummary(config: Readonly<ModelConfig>, params: readonly ParamInfo[], info: ModelInfo): string {
  const rows = summaryRows(config, params);
  const header: [string, string, string] = ['Layer', 'Output shape', 'Params'];
  const cells = rows.map((r): [string, string, string] => [r.layer, r.outputShape, r.params.toLocaleString('en-US')]);
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...cells.map((c) => c[i].length)));
  const line = (c: [string, string, string]) => `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2].padStart(widths[2])}`;
  const rule = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
  const total = params.reduce((n, p) => n + size(p.shape), 0);
  const trainable = params.reduce((n, p) => n + (p.trainable ? size(p.shape) : 0), 0);
  return [
    rule,
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Total params: ${total.toLocaleString('en-US')} (trainable ${trainable.toLocaleString('en-US')}, non-trainable ${(total - trainable).toLocaleString('en-US')})`,
    `Backend: ${info.backend}${info.device ? ` (device ${info.device.ordinal}: ${info.device.name})` : ''}, dtype ${info.dtype}, precision ${info.precision}`,
    `Loss: ${setting(config, 'loss')}, native memory: ${formatBytes(info.nativeBytes)}, step ${info.step}`,
    '',
  ].join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** What util.inspect (console.log) shows of a model: its shape and where it runs, not its internals. */
export function describeModel(config: Readonly<ModelConfig>, info: ModelInfo | undefined): string {
  const input = config.input;
  const from = input.type === 'features' ? `features ${input.size}` : `${input.type} ${input.vocabSize}${input.type === 'embedding' ? `x${input.dim}` : ''}`;
  const layers = config.layers.map((l) => `${l.bidirectional ? 'bi-' : ''}${cellOf(l)} ${l.units}`).join(', ');
  const dense = config.dense.map((d) => d.units).join(', ');
  const where = info ? `${info.backend} ${info.dtype} ${info.precision}, ${info.parameterCount.toLocaleString('en-US')} params, step ${info.step}` : 'disposed';
  return `Model { ${from} -> [${layers}] -> dense [${dense}], output '${setting(config, 'output')}', ${where} }`;
}
