// fit's validationSplit: hold out the last fraction of an array of batches, as Keras holds out the
// last fraction of its samples (before any shuffling, so the held-out part is the same every epoch).
import { checkNumber } from './validate.js';

/**
 * `data` cut into the batches to train on and the last ones to validate on: the first
 * floor(length * (1 - fraction)) batches train. Throws TypeError when `data` is not an array or
 * validation data is given too, RangeError when the fraction is outside (0, 1) or leaves either
 * side empty.
 */
export function splitValidation<B>(data: unknown, fraction: unknown, hasValidationData: boolean): { train: B[]; validation: B[] } {
  if (!Array.isArray(data)) {
    throw new TypeError('options.validationSplit needs data as an array of batches (a generator or a function cannot be split); pass options.validationData instead');
  }
  if (hasValidationData) throw new TypeError('options.validationSplit and options.validationData exclude each other; give one');
  const f = checkNumber(fraction, 'options.validationSplit', 0, 1, true);
  const at = Math.floor(data.length * (1 - f));
  if (f === 0 || at === 0 || at === data.length) {
    throw new RangeError(`options.validationSplit ${f} of ${data.length} batches leaves no batch to ${at === 0 ? 'train on' : 'validate on'}; it must be in (0, 1) and split the batches`);
  }
  return { train: data.slice(0, at) as B[], validation: data.slice(at) as B[] };
}
