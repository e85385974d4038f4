// Weights from elsewhere: a PyTorch state dict saved as safetensors (any F32/F64 file whose
// tensor names are the model's PyTorch-style names: rnn.weight_ih_l0, embedding.weight, ...).
import { readFile } from 'node:fs/promises';
import type { Model } from '../model.js';
import { checkBoolean, checkKeys, checkObject } from '../validate.js';
import { CheckpointFormatError, decodeSafetensors } from './safetensors.js';

/** Options of {@link loadStateDict}. */
export interface StateDictOptions {
  /** Reject tensors the model has no parameter for (default true). */
  strict?: boolean;
}

/**
 * Sets every parameter of `model` from the file; the model is unchanged when anything is wrong.
 * @returns a promise that resolves once every parameter is set.
 * @throws CheckpointFormatError (as a rejection) for a file that is not valid safetensors, a missing parameter,
 *   a shape that
   does not match or (strict) a tensor the model lacks; TypeError for a bad option; the file system's error.
 */
export async function loadStateDict(model: Model, path: string, options: StateDictOptions = {}): Promise<void> {
  checkObject(options, 'options');
  checkKeys(options, ['strict'], 'options');
  const strict = checkBoolean(options.strict ?? true, 'options.strict');
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  const file = decodeSafetensors(await readFile(path), path);
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`${path}: ${why}`);
  };
  const params = model.params();
  // Check everything before setting anything, so a bad file leaves the model as it was.
  for (const p of params) {
    const t = file.tensors.get(p.name);
    if (t === undefined) fail(`tensor ${p.name} is missing`);
    if (t!.shape.join(',') !== p.shape.join(',')) fail(`tensor ${p.name} has shape [${t!.shape}], the model needs [${p.shape}]`);
    if (!t!.data.every(Number.isFinite)) fail(`tensor ${p.name} has non-finite values`);
  }
  if (strict) {
    const known = new Set(params.map((p) => p.name));
    const extra = [...file.tensors.keys()].filter((n) => !known.has(n));
    if (extra.length > 0) fail(`tensors the model has no parameter for: ${extra.slice(0, 5).join(', ')} (pass strict: false to ignore)`);
  }
  for (const p of params) model.setParam(p.name, file.tensors.get(p.name)!.data);
}
