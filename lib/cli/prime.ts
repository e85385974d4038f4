// The one rule `train` (its closing sample) and `sample` apply to --prime: the library's own
// (sampling.ts's encodePrime), checked before anything is trained or printed.
import { encodePrime } from '../sampling.js';
import type { Vocabulary } from '../vocab.js';
import { UsageError } from './args.js';

/** Throws a UsageError naming --prime when the sampler would reject `prime` with `vocabulary`. */
export function checkPrimeFlag(vocabulary: Vocabulary, prime: string): void {
  try {
    encodePrime(vocabulary, prime);
  } catch (error) {
    const missing = [...prime].find((c) => !vocabulary.has(c));
    if (vocabulary.unknown === 'error' && missing !== undefined) {
      throw new UsageError(`--prime has a character the vocabulary lacks: ${JSON.stringify(missing)}`);
    }
    throw new UsageError(`--prime: ${(error as Error).message.replace(/^options\.prime:? ?/, '')}`);
  }
}
