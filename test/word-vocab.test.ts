// Word vocabularies for seq2seq / captioning: reserved ids first, minimum counts, frequency order
// with stable ties, unknown words, framing with <go>/<eos>, decoding that stops at <eos>.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESERVED, WordVocabulary, tokenizeWords } from '../lib/index.js';

const corpus = ['The cat sat on the mat.', 'The dog sat, the cat ran!', "It's the cat's mat\r\nand the dog's."];

describe('WordVocabulary', () => {
  it('tokenizes words, apostrophes and punctuation over Unicode letters', () => {
    expect(tokenizeWords("It's Ånna's café, naïve!\r\nOK")).toEqual(["It's", "Ånna's", 'café', ',', 'naïve', '!', 'OK']);
  });

  it('puts the reserved tokens first, then words seen minCount times, most frequent first', () => {
    const v = WordVocabulary.fromCorpus(corpus, { minCount: 2 });
    expect(v.words.slice(0, 4)).toEqual([...DEFAULT_RESERVED]);
    // the: 6; then cat, sat, mat and '.' twice each ("cat's" is a word of its own), in first-seen order.
    expect(v.words.slice(4)).toEqual(['the', 'cat', 'sat', 'mat', '.']);
    expect(v.size).toBe(9);
    expect(v.id('The')).toBe(4);
    expect(v.id('dog')).toBe(v.unknownId);
    expect(v.unknownId).toBe(3);
  });

  it('encodes with framing and decodes up to <eos>, skipping padding', () => {
    const v = WordVocabulary.fromCorpus(corpus);
    const ids = v.encode('the dog sat on a mat', { start: '<go>', end: '<eos>' });
    expect(ids[0]).toBe(1);
    expect(ids[ids.length - 1]).toBe(2);
    expect(ids[5]).toBe(v.unknownId); // 'a' never appears in the corpus
    expect(v.decode(ids, { skip: ['<go>'], stopAt: '<eos>' })).toBe('the dog sat on [UNK] mat');
    expect(v.decode(Int32Array.from([...ids, 0, 0]), { skip: ['<go>', '<pad>'] })).toBe('the dog sat on [UNK] mat <eos>');
    expect(() => v.encode('x', { start: 'cat' })).toThrow(RangeError);
    expect(() => v.decode([99])).toThrow(/out of range/);
  });

  it('keeps case when asked, caps the size, and round-trips through JSON', () => {
    const v = WordVocabulary.fromCorpus(corpus, { lowercase: false, maxWords: 3, reserved: ['<pad>', '<unk>'], unknown: '<unk>' });
    // Case kept: 'the' 4 times, then 'The' and 'cat' twice each (first seen before 'sat').
    expect(v.words).toEqual(['<pad>', '<unk>', 'the', 'The', 'cat']);
    expect(v.id('The')).toBe(3);
    expect(v.id('Cat')).toBe(v.unknownId);
    const back = WordVocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(back.words).toEqual(v.words);
    expect(back.encode('the cat The')).toEqual(v.encode('the cat The'));
  });

  it('rejects bad options and bad JSON', () => {
    expect(() => WordVocabulary.fromCorpus(corpus, { minCount: 0 })).toThrow(RangeError);
    expect(() => WordVocabulary.fromCorpus(corpus, { unknown: '<oov>' })).toThrow(/must be one of options.reserved/);
    expect(() => WordVocabulary.fromCorpus(corpus, { mincount: 2 } as never)).toThrow(/did you mean 'minCount'/);
    expect(() => WordVocabulary.fromCorpus(corpus, { reserved: ['<pad>', '<pad>'] })).toThrow(RangeError);
    expect(() => WordVocabulary.fromJSON({ words: ['a'], reserved: ['<pad>'], unknown: '<pad>', lowercase: true })).toThrow(RangeError);
  });
});
