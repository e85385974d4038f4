// Random recurrent-layer cases for the op harness (ops.rnnForward / ops.rnnBackward): every cell
// variant, ragged lengths (one row full, the others 0..T), an initial state and output gradients.
import { randn, rng } from './numeric.js';

export interface RnnCase {
  B: number;
  T: number;
  I: number;
  H: number;
}
export const RNN_SHAPES: RnnCase[] = [
  { B: 1, T: 1, I: 3, H: 5 },
  { B: 3, T: 7, I: 5, H: 33 },
  { B: 17, T: 4, I: 37, H: 65 },
];
export const VARIANTS = [
  { name: 'lstm', cell: 'lstm', G: 4 },
  { name: 'lstm+peephole', cell: 'lstm', G: 4, peephole: true },
  { name: 'gru', cell: 'gru', G: 3 },
  { name: 'gru reset-before', cell: 'gru', G: 3, resetBefore: true },
  { name: 'rnn_tanh', cell: 'rnn_tanh', G: 1 },
  { name: 'rnn_relu', cell: 'rnn_relu', G: 1 },
] as const;

export function rnnArgs(v: (typeof VARIANTS)[number], s: RnnCase, seed: number, reverse: boolean): Record<string, unknown> {
  const r = rng(seed);
  const { B, T, I, H } = s;
  const GH = v.G * H;
  const scale = 1 / Math.sqrt(H);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) lengths[b] = b === 0 ? T : Math.floor(r() * (T + 1)); // 0..T, one full
  const args: Record<string, unknown> = {
    cell: v.cell,
    B,
    T,
    I,
    H,
    reverse,
    peephole: 'peephole' in v && v.peephole,
    resetBefore: 'resetBefore' in v && v.resetBefore,
    x: randn(B * T * I, r),
    lengths,
    h0: randn(B * H, r, 0.5),
    w_ih: randn(GH * I, r, scale),
    w_hh: randn(GH * H, r, scale),
    b_ih: randn(GH, r, 0.1),
    b_hh: randn(GH, r, 0.1),
    dy: randn(B * T * H, r),
    dhN: randn(B * H, r),
  };
  if (v.cell === 'lstm') {
    args.c0 = randn(B * H, r, 0.5);
    args.dcN = randn(B * H, r);
  }
  if ('peephole' in v && v.peephole) args.peepholeWeights = randn(3 * H, r, 0.3);
  return args;
}
