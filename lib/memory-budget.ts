// How much memory a model may take, and the error that names what is too big (issue 16): the
// native side gives facts (the machine's limits, a config's parameter shapes without allocating),
// this file owns the budget and the wording.
import type { NativeModel, NativeParamInfo } from '../typings/model.js';
import type { NativeAddon } from '../typings/native.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;
const sized = (bytes: number) => (bytes >= GB ? `${(bytes / GB).toFixed(2)} GB` : `${(bytes / MB).toFixed(1)} MB`);
const overBudget = (budget: number) => `over the memory budget of ${sized(budget)} (set FUSEDRNN_MEMORY_BUDGET in bytes to change it)`;

/**
 * The memory budget in bytes: FUSEDRNN_MEMORY_BUDGET (bytes) when set, else on the CPU the
 * smallest of physical memory, the cgroup's limit and RLIMIT_AS, and on a GPU the device's total
 * memory (cudaMemGetInfo). Like physical memory, that total ignores what others use: it catches
 * sizes that cannot fit at all; an allocation that fails for lack of free memory is CUDA's own
 * error (test/gpu-faults.test.ts).
 */
export function memoryBudget(addon: NativeAddon, backend: 'cpu' | 'cuda', device = 0): number {
  const set = process.env.FUSEDRNN_MEMORY_BUDGET;
  if (set !== undefined && set !== '') {
    const bytes = Number(set);
    if (!(bytes > 0)) throw new RangeError(`FUSEDRNN_MEMORY_BUDGET must be a number of bytes > 0, got ${JSON.stringify(set)}`);
    return bytes;
  }
  if (backend === 'cuda') return addon.memoryLimits(device).deviceMemory;
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
    `${fieldOf(largest.name)}: the model needs ${sized(bytes)} (its ${values} parameters with gradients and ` +
      `Adam's moments; the largest, ${largest.name}, is [${largest.shape.join(', ')}]), ${overBudget(budget)}`,
  );
}

/**
 * Throws a RangeError naming the batch dimensions when a call on a [batchSize, steps] batch would
 * need more memory for its activations (and their gradients) than the budget leaves beside what
 * the model holds already. Nothing is allocated to find out; a shape the model already holds
 * activations for needs none, and then the budget is not asked for (reading the machine's limits
 * costs system calls: ~40 µs, 4% of a W5 training step).
 */
export function checkActivationSize(native: NativeModel, batchSize: number, steps: number, budgetOf: () => number): void {
  const needed = native.activationBytes(batchSize, steps);
  if (needed === 0) return;
  const budget = budgetOf();
  if (budget === Infinity) return;
  const held = native.info().nativeBytes;
  if (needed + held <= budget) return;
  throw new RangeError(
    `batch.batchSize × batch.steps = ${batchSize} × ${steps}: the activations need ${sized(needed)} beside the ` +
      `${sized(held)} the model holds, ${overBudget(budget)}; use a smaller batch or fewer steps`,
  );
}
