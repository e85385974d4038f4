// Bad arguments to the op harness and the initializers throw TypeError / RangeError naming the
// argument, and never crash the process.
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from './helpers/test-addon.js';

const native = loadTestAddon();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ops = native.ops as Record<string, (...a: any[]) => any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const init = native.init as Record<string, (...a: any[]) => any>;

const F = (n: number, v = 0.5) => new Float64Array(n).fill(v);
const I = (...v: number[]) => Int32Array.from(v);

type Case = [string, string, Record<string, unknown>, ErrorConstructor, RegExp];
const cases: Case[] = [
  ['wrong dtype', 'denseForward', {}, RangeError, /dtype/],
  ['x wrong length', 'denseForward', { N: 2, I: 3, O: 1, x: F(5), W: F(3) }, RangeError, /args\.x/],
  ['x a plain array', 'denseForward', { N: 1, I: 1, O: 1, x: [1], W: F(1) }, TypeError, /args\.x/],
  ['x a Float32Array', 'denseForward', { N: 1, I: 1, O: 1, x: new Float32Array(1), W: F(1) }, TypeError, /args\.x/],
  ['negative N', 'denseForward', { N: -1, I: 1, O: 1, x: F(0), W: F(1) }, RangeError, /args\.N/],
  ['fractional I', 'denseForward', { N: 1, I: 1.5, O: 1, x: F(1), W: F(1) }, RangeError, /args\.I/],
  ['missing O', 'denseForward', { N: 1, I: 1, x: F(1), W: F(1) }, TypeError, /args\.O/],
  ['unknown activation', 'denseForward', { N: 1, I: 1, O: 1, act: 'relu', x: F(1), W: F(1) }, RangeError, /args\.act/],
  ['bias wrong length', 'denseForward', { N: 1, I: 1, O: 2, x: F(1), W: F(2), b: F(3) }, RangeError, /args\.b/],
  ['dy wrong length', 'denseBackward', { N: 1, I: 1, O: 1, x: F(1), W: F(1), y: F(1), dy: F(2) }, RangeError, /args\.dy/],
  ['lds < cols', 'copyRows', { rows: 2, cols: 3, src: F(5), lds: 2, dst: F(6), ldd: 3 }, RangeError, /args\.lds/],
  ['token out of range', 'embeddingForward', { N: 2, V: 3, E: 1, tokens: I(0, 3), table: F(3) }, RangeError, /args\.tokens\[1\]/],
  ['negative token', 'embeddingBackward', { N: 1, V: 3, E: 1, tokens: I(-1), dout: F(1) }, RangeError, /args\.tokens\[0\]/],
  ['tokens as floats', 'oneHot', { N: 1, V: 3, tokens: F(1) }, TypeError, /args\.tokens/],
  ['V = 0', 'oneHot', { N: 0, V: 0, tokens: I() }, RangeError, /args\.V/],
  ['target out of range', 'softmaxXent', { N: 1, V: 2, logits: F(2), targets: I(2) }, RangeError, /args\.targets/],
  ['weights wrong length', 'softmaxXent', { N: 1, V: 2, logits: F(2), targets: I(1), weights: F(2) }, RangeError, /args\.weights/],
  ['mse target length', 'mse', { N: 2, D: 2, pred: F(4), target: F(3) }, RangeError, /args\.target/],
  ['p = 1', 'dropoutForward', { p: 1, seed: 1, offset: 0, x: F(3) }, RangeError, /args\.p/],
  ['p < 0', 'dropoutBackward', { p: -0.1, seed: 1, offset: 0, dy: F(3) }, RangeError, /args\.p/],
  ['negative seed', 'dropoutForward', { p: 0.5, seed: -1, offset: 0, x: F(3) }, RangeError, /args\.seed/],
  ['seed > 2^53', 'dropoutForward', { p: 0.5, seed: 2 ** 54, offset: 0, x: F(3) }, RangeError, /args\.seed/],
  ['offset a string', 'dropoutForward', { p: 0.5, seed: 1, offset: '0', x: F(3) }, TypeError, /args\.offset/],
  ['maxNorm missing', 'globalNormClip', { g: F(3) }, TypeError, /args\.maxNorm/],
  ['adam m wrong length', 'adam', { params: F(3), grads: F(3), m: F(2), v: F(3), step: 1 }, RangeError, /args\.m/],
  ['adam step 0', 'adam', { params: F(3), grads: F(3), m: F(3), v: F(3), step: 0 }, RangeError, /args\.step/],
  ['adam beta1 = 1', 'adam', { params: F(1), grads: F(1), m: F(1), v: F(1), step: 1, cfg: { beta1: 1 } }, RangeError, /beta1/],
  ['adam lr a string', 'adam', { params: F(1), grads: F(1), m: F(1), v: F(1), step: 1, cfg: { lr: 'x' } }, TypeError, /lr/],
  ['temperature 0', 'sample', { B: 1, V: 2, logits: F(2), seed: 1, offset: 0, temperature: 0 }, RangeError, /temperature/],
  ['top_k < 0', 'sample', { B: 1, V: 2, logits: F(2), seed: 1, offset: 0, topK: -1 }, RangeError, /topK/],
  ['top_p 0', 'sample', { B: 1, V: 2, logits: F(2), seed: 1, offset: 0, topP: 0 }, RangeError, /topP/],
  ['top_p > 1', 'sample', { B: 1, V: 2, logits: F(2), seed: 1, offset: 0, topP: 1.5 }, RangeError, /topP/],
  ['logits wrong length', 'sample', { B: 2, V: 2, logits: F(3), seed: 1, offset: 0 }, RangeError, /args\.logits/],
  ['unknown backend', 'mse', { N: 1, D: 1, pred: F(1), target: F(1), backend: 'tpu' }, RangeError, /backend/],
];

describe('op harness argument validation', () => {
  for (const [what, name, args, Err, msg] of cases)
    it(`${name}: ${what} throws ${Err.name}`, () => {
      const dtype = what === 'wrong dtype' ? 'float16' : 'float64';
      expect(() => ops[name](dtype, args)).toThrow(Err);
      expect(() => ops[name](dtype, args)).toThrow(msg);
      if (what !== 'wrong dtype') expect(() => ops[name]('float32', args)).toThrow(Err);
    });

  it('missing args object throws TypeError', () => {
    expect(() => ops.adam('float64')).toThrow(TypeError);
    expect(() => ops.adam()).toThrow(TypeError);
  });

  it('a valid call still works after the failures', () => {
    const r = ops.mse('float64', { N: 1, D: 2, pred: Float64Array.from([1, 2]), target: Float64Array.from([0, 0]) });
    expect(r.loss).toBe(2.5);
  });
});

describe('init argument validation', () => {
  const bad: Array<[string, string, Record<string, unknown>, ErrorConstructor]> = [
    ['n negative', 'uniform', { n: -1, lo: 0, hi: 1, seed: 1 }, RangeError],
    ['hi < lo', 'uniform', { n: 3, lo: 1, hi: 0, seed: 1 }, RangeError],
    ['seed missing', 'normal', { n: 3 }, TypeError],
    ['seed fractional', 'normal', { n: 3, seed: 1.5 }, RangeError],
    ['std negative', 'normal', { n: 3, std: -1, seed: 1 }, RangeError],
    ['fans zero', 'glorotUniform', { fanIn: 0, fanOut: 0, seed: 1 }, RangeError],
    ['rows zero', 'orthogonal', { rows: 0, cols: 3, seed: 1 }, RangeError],
    ['cols a string', 'orthogonal', { rows: 2, cols: '3', seed: 1 }, TypeError],
    ['value NaN', 'constant', { n: 2, value: NaN }, RangeError],
  ];
  for (const [what, name, args, Err] of bad)
    it(`init.${name}: ${what} throws ${Err.name}`, () => {
      expect(() => init[name](args)).toThrow(Err);
    });
  it('init without an args object throws TypeError', () => {
    expect(() => init.uniform()).toThrow(TypeError);
    expect(() => init.uniform(5)).toThrow(TypeError);
  });
});
