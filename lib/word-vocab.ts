// A word-level vocabulary for translation and captioning models: reserved tokens first (padding,
// start, end, unknown), then the corpus's words seen at least `minCount` times, most frequent
// first (ties in first-seen order, so the same corpus always gives the same ids).
import { checkInt, checkKeys, checkObject } from './validate.js';
import { normalizeNewlines } from './vocab.js';

/** Options of {@link WordVocabulary.fromCorpus}. */
export interface WordVocabularyOptions {
  /** Keep words seen at least this often (the captioning example keeps those seen 20 times). Default 1. */
  minCount?: number;
  /** Keep at most this many corpus words (after minCount); default all. */
  maxWords?: number;
  /** Tokens that get the first ids, in this order; default ['<pad>', '<go>', '<eos>', '[UNK]']. */
  reserved?: readonly string[];
  /** The reserved token that stands for out-of-vocabulary words; default '[UNK]'. */
  unknown?: string;
  /** Lower-case words before counting and encoding; default true. */
  lowercase?: boolean;
}

/** The reserved tokens a {@link WordVocabulary} puts first by default: padding, start, end and unknown (ids 0 to 3). */
export const DEFAULT_RESERVED = ['<pad>', '<go>', '<eos>', '[UNK]'] as const;

/**
 * Splits text into words and punctuation marks (Unicode letters, digits and apostrophes form words).
 * @returns the words and punctuation marks in order (newlines normalized first).
 * @throws TypeError when `text` is not a string.
 */
export function tokenizeWords(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  return normalizeNewlines(text).match(/[\p{L}\p{N}][\p{L}\p{N}'’]*|[^\s\p{L}\p{N}]/gu) ?? [];
}

/**
 * A word-level vocabulary for translation and captioning models: reserved tokens first, then the corpus's words,
 * most frequent first (ties in first-seen order, so the same corpus always gives the same ids).
 */
export class WordVocabulary {
  readonly words: readonly string[];
  readonly reserved: readonly string[];
  readonly unknownId: number;
  readonly lowercase: boolean;
  private readonly ids: Map<string, number>;

  private constructor(words: string[], reserved: string[], unknown: string, lowercase: boolean) {
    this.words = Object.freeze(words);
    this.reserved = Object.freeze(reserved);
    this.lowercase = lowercase;
    this.ids = new Map(words.map((w, i) => [w, i]));
    this.unknownId = this.ids.get(unknown)!;
  }

  /** Counts the words of `texts` and keeps the frequent ones after the reserved tokens. */
  static fromCorpus(texts: Iterable<string>, options: WordVocabularyOptions = {}): WordVocabulary {
    checkObject(options, 'options');
    checkKeys(options, ['minCount', 'maxWords', 'reserved', 'unknown', 'lowercase'], 'word vocabulary options');
    const minCount = checkInt(options.minCount ?? 1, 'options.minCount', 1);
    const maxWords = options.maxWords === undefined ? Infinity : checkInt(options.maxWords, 'options.maxWords', 0);
    const reserved = [...(options.reserved ?? DEFAULT_RESERVED)];
    const unknown = options.unknown ?? '[UNK]';
    const lowercase = options.lowercase ?? true;
    if (reserved.some((r) => typeof r !== 'string' || r === '')) throw new TypeError('options.reserved must hold non-empty strings');
    if (new Set(reserved).size !== reserved.length) throw new RangeError('options.reserved must not repeat a token');
    if (!reserved.includes(unknown)) throw new RangeError(`options.unknown '${unknown}' must be one of options.reserved`);
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const token of tokenizeWords(text)) {
        const word = lowercase ? token.toLowerCase() : token;
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
    const kept = [...counts]
      .filter(([word, n]) => n >= minCount && !reserved.includes(word))
      .map(([word, n], order) => ({ word, n, order }))
      .sort((a, b) => b.n - a.n || a.order - b.order)
      .slice(0, maxWords === Infinity ? undefined : maxWords)
      .map((x) => x.word);
    return new WordVocabulary([...reserved, ...kept], reserved, unknown, lowercase);
  }

  /** The vocabulary toJSON() wrote, checked. */
  static fromJSON(json: { words: string[]; reserved: string[]; unknown: string; lowercase: boolean }): WordVocabulary {
    checkObject(json, 'json');
    const { words, reserved, unknown, lowercase } = json;
    if (!Array.isArray(words) || !Array.isArray(reserved) || typeof unknown !== 'string' || typeof lowercase !== 'boolean') {
      throw new TypeError('json must have words and reserved (arrays), unknown (string) and lowercase (boolean)');
    }
    if (reserved.some((r, i) => words[i] !== r)) throw new RangeError('json.words must start with json.reserved');
    if (!reserved.includes(unknown)) throw new RangeError('json.unknown must be one of json.reserved');
    if (new Set(words).size !== words.length || words.some((w) => typeof w !== 'string' || w === '')) {
      throw new RangeError('json.words must be distinct non-empty strings');
    }
    return new WordVocabulary([...words], [...reserved], unknown, lowercase);
  }

  /** @returns the number of ids (reserved tokens and words), which is the model's `vocabSize`. */
  get size(): number {
    return this.words.length;
  }

  /** The id of a word or reserved token (the unknown id for a word outside the vocabulary). */
  id(word: string): number {
    return this.ids.get(this.reserved.includes(word) || !this.lowercase ? word : word.toLowerCase()) ?? this.unknownId;
  }

  /** Token ids of `text`, optionally framed by reserved tokens (e.g. a decoder's '<go>' and '<eos>'). */
  encode(text: string, frame: { start?: string; end?: string } = {}): Int32Array {
    const ids = tokenizeWords(text).map((w) => this.id(w));
    for (const [key, token] of Object.entries(frame)) {
      if (token !== undefined && !this.reserved.includes(token)) throw new RangeError(`frame.${key} '${token}' is not a reserved token`);
    }
    if (frame.start !== undefined) ids.unshift(this.ids.get(frame.start)!);
    if (frame.end !== undefined) ids.push(this.ids.get(frame.end)!);
    return Int32Array.from(ids);
  }

  /** Words of `ids` joined by spaces; stops at `stopAt` (e.g. '<eos>') and drops `skip` tokens (e.g. '<pad>'). */
  decode(ids: ArrayLike<number>, options: { stopAt?: string; skip?: readonly string[] } = {}): string {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const word = this.words[ids[i]];
      if (word === undefined) throw new RangeError(`ids[${i}] = ${ids[i]} is out of range [0, ${this.size})`);
      if (word === options.stopAt) break;
      if (!options.skip?.includes(word)) out.push(word);
    }
    return out.join(' ');
  }

  /** @returns a plain object {@link WordVocabulary.fromJSON} rebuilds the same vocabulary from. */
  toJSON(): { words: string[]; reserved: string[]; unknown: string; lowercase: boolean } {
    return { words: [...this.words], reserved: [...this.reserved], unknown: this.words[this.unknownId], lowercase: this.lowercase };
  }
}
