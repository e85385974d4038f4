// A character vocabulary over Unicode code points (not UTF-16 units, not bytes).
import { checkKeys, checkObject, checkOneOf } from './validate.js';

/** How a {@link Vocabulary} treats newlines and characters it lacks. */
export interface VocabularyOptions {
  /** Turn CRLF and lone CR into LF before building and encoding (default true). */
  normalizeNewlines?: boolean;
  /** What encode() does with a character the vocabulary lacks: throw (default) or drop it. */
  unknown?: 'error' | 'skip';
}

const OPTION_KEYS = ['normalizeNewlines', 'unknown'] as const;

/** A character vocabulary: one id per Unicode code point (not UTF-16 unit, not byte), ids in code point order. */
export class Vocabulary {
  readonly chars: readonly string[];
  readonly normalizeNewlines: boolean;
  readonly unknown: 'error' | 'skip';
  private readonly ids: Map<string, number>;

  private constructor(chars: string[], options: Required<VocabularyOptions>) {
    this.chars = Object.freeze(chars);
    this.normalizeNewlines = options.normalizeNewlines;
    this.unknown = options.unknown;
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }

  /** The distinct code points of `text`, sorted by code point (so the same text gives the same ids). */
  static fromText(text: string, options: VocabularyOptions = {}): Vocabulary {
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    const opts = normalizeOptions(options);
    const source = opts.normalizeNewlines ? normalizeNewlines(text) : text;
    const set = new Set<string>();
    for (const ch of source) set.add(ch);
    if (set.size === 0) throw new RangeError('text must contain at least one character');
    const chars = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new Vocabulary(chars, opts);
  }

  /** A vocabulary from an explicit list of distinct single code points, in id order. */
  static fromChars(chars: readonly string[], options: VocabularyOptions = {}): Vocabulary {
    if (!Array.isArray(chars) || chars.length === 0) throw new TypeError('chars must be a non-empty array of strings');
    const seen = new Set<string>();
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) throw new TypeError(`chars[${i}] must be a single character`);
      if (seen.has(c)) throw new RangeError(`chars[${i}] = ${JSON.stringify(c)} appears twice`);
      seen.add(c);
    });
    return new Vocabulary([...chars], normalizeOptions(options));
  }

  /** @returns the number of characters, which is the model's `vocabSize`. */
  get size(): number {
    return this.chars.length;
  }

  /** @returns whether `ch` (one code point) has an id. */
  has(ch: string): boolean {
    return this.ids.has(ch);
  }

  /**
   * @returns the ids of `text`'s code points (after newline normalization when on); unknown ones are dropped
   *   under `unknown: 'skip'`.
   * @throws TypeError when `text` is not a string; RangeError naming the character and its index when it is
   *   unknown under `unknown: 'error'`.
   */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    const source = this.normalizeNewlines ? normalizeNewlines(text) : text;
    const out: number[] = [];
    let index = 0;
    for (const ch of source) {
      const id = this.ids.get(ch);
      if (id !== undefined) out.push(id);
      else if (this.unknown === 'error') {
        throw new RangeError(`text has a character outside the vocabulary: ${JSON.stringify(ch)} at code point index ${index}`);
      }
      index++;
    }
    return Int32Array.from(out);
  }

  /**
   * @returns the text the ids stand for.
   * @throws RangeError naming the first id outside `[0, size)`.
   */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const ch = this.chars[ids[i]];
      if (ch === undefined) throw new RangeError(`ids[${i}] = ${ids[i]} is out of range [0, ${this.size})`);
      s += ch;
    }
    return s;
  }

  /**
   * @returns a plain object (checkpoints store it): `Vocabulary.fromChars(json.chars, { normalizeNewlines:
   *   json.normalizeNewlines, unknown: json.unknown })` rebuilds the same vocabulary.
   */
  toJSON(): { chars: string[]; normalizeNewlines: boolean; unknown: 'error' | 'skip' } {
    return { chars: [...this.chars], normalizeNewlines: this.normalizeNewlines, unknown: this.unknown };
  }
}

function normalizeOptions(options: VocabularyOptions): Required<VocabularyOptions> {
  checkObject(options, 'options');
  checkKeys(options, OPTION_KEYS, 'Vocabulary options');
  return {
    normalizeNewlines: options.normalizeNewlines ?? true,
    unknown: checkOneOf(options.unknown ?? 'error', 'options.unknown', ['error', 'skip'] as const),
  };
}

/** @returns `text` with CRLF and lone CR turned into LF. */
export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}
