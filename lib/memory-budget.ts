// How much memory a model may take, and the error that names what is too big (issue 16): the
// native side gives facts (the machine's limits, a config's parameter shapes without allocating),
// this file owns the budget and the wording.
import type { NativeParamInfo } from '../typings/model.js';
import type { NativeAddon } from '../typings/native.js';

const GB = 1024 ** 3;

/**
 * The memory budget in bytes: FUSEDRNN_MEMORY_BUDGET (bytes) when set, else on the CPU the
 * smallest of physical memory, the cgroup's limit and RLIMIT_AS; none on a GPU (its allocations
 * fail with CUDA's own error, test/gpu-faults.test.ts).
 */
export function memoryBudget(addon: NativeAddon, backend: 'cpu' | 'cuda'): number {
  const set = process.env.FUSEDRNN_MEMORY_BUDGET;
  if (set !== undefined && set !== '') {
    const bytes = Number(set);
    if (!(bytes > 0)) throw new RangeError(`FUSEDRNN_MEMORY_BUDGET must be a number of bytes > 0, got ${JSON.stringify(set)}`);
    return bytes;
  }
  if (backend === 'cuda') return Infinity;
  const l = addon.memoryLimits();
  return Math.min(l.physical, l.cgroup, l.addressSpace);
}

// The config field a parameter's size comes from, for the message.
function fieldOf(name: string): string {
  const layer = /_l(\d+)(_reverse)?$/.exec(name);
  if (name.startsWith('rnn.') && layer) return `config.layers[${layer[1]}].units`;
  if (name.startsWith('embedding.')) return 'config.input (vocabSize × dim)';
  if (name.startsWith('dense')) return 'config.dense';
  return 'config';
}

/**
 * Throws a RangeError naming the largest parameter and its config field when the parameters, their
 * gradients and Adam's two moments (4 copies) would exceed the budget.
 */
export function checkModelSize(params: NativeParamInfo[], bytesPerValue: number, budget: number): void {
  let values = 0;
  let largest = params[0];
  const size = (p: NativeParamInfo) => p.shape.reduce((a, b) => a * b, 1);
  for (const p of params) {
    values += size(p);
    if (size(p) > size(largest)) largest = p;
  }
  const bytes = values * bytesPerValue * 4;
  if (bytes <= budget) return;
  throw new RangeError(
    `${fieldOf(largest.name)}: the model needs ${(bytes / GB).toFixed(2)} GB (its ${values} parameters with gradients and ` +
      `Adam's moments; the largest, ${largest.name}, is [${largest.shape.join(', ')}]), over the memory budget of ` +
      `${(budget / GB).toFixed(2)} GB (set FUSEDRNN_MEMORY_BUDGET in bytes to change it)`,
  );
}
