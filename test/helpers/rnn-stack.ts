// Stacked / bidirectional recurrent networks composed from single layer-direction harness calls
// (ops.rnnForward / ops.rnnBackward), the way PyTorch's nn.LSTM/GRU/RNN stack them: layer l's input
// is the concatenated [forward, reverse] output of layer l-1, and both directions' dx add up.
import type { DType, OpHarness } from './test-addon.js';

export type CellName = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

export interface LayerParams {
  w_ih: Float64Array;
  w_hh: Float64Array;
  b_ih: Float64Array;
  b_hh: Float64Array;
  peephole?: Float64Array; // [3H] (p_i, p_f, p_o)
}

export interface StackSpec {
  cell: CellName;
  layers: number;
  dirs: 1 | 2;
  B: number;
  T: number;
  I: number;
  H: number;
  lengths?: Int32Array;
  peephole?: boolean;
  resetBefore?: boolean;
}

export interface StackInputs {
  x: Float64Array; // [B,T,I]
  h0: Float64Array; // [L*D,B,H]
  c0?: Float64Array; // [L*D,B,H], LSTM
  params: LayerParams[][]; // [layer][dir]
  dOut: Float64Array; // [B,T,D*H]
  dhN: Float64Array; // [L*D,B,H]
  dcN?: Float64Array; // [L*D,B,H], LSTM
}

export interface StackResult {
  output: Float64Array;
  hN: Float64Array;
  cN?: Float64Array;
  dx: Float64Array;
  dh0: Float64Array;
  dc0?: Float64Array;
  grads: { w_ih: Float64Array; w_hh: Float64Array; b_ih: Float64Array; b_hh: Float64Array; peephole?: Float64Array }[][];
}

type Ops = Record<string, OpHarness>;

/** Columns [c0, c0+w) of a [rows, ld] matrix, as a contiguous [rows, w] one. */
export function takeCols(a: Float64Array, rows: number, ld: number, c0: number, w: number): Float64Array {
  const out = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * ld + c0, r * ld + c0 + w), r * w);
  return out;
}

function putCols(dst: Float64Array, rows: number, ld: number, c0: number, src: Float64Array, w: number): void {
  for (let r = 0; r < rows; r++) dst.set(src.subarray(r * w, r * w + w), r * ld + c0);
}

/** Forward and backward of the whole stack with loss gradients dOut, dhN, dcN. */
export function stackForwardBackward(ops: Ops, dtype: DType, s: StackSpec, inp: StackInputs): StackResult {
  const { B, T, H, dirs: D, layers: L } = s;
  const lstm = s.cell === 'lstm';
  const BH = B * H;
  const slot = (l: number, d: number) => (l * D + d) * BH;
  const layerArgs = (l: number, d: number, input: Float64Array) => {
    const p = inp.params[l][d];
    const a: Record<string, unknown> = {
      cell: s.cell,
      B,
      T,
      I: l === 0 ? s.I : D * H,
      H,
      reverse: d === 1,
      peephole: !!s.peephole,
      resetBefore: !!s.resetBefore,
      x: input,
      h0: inp.h0.slice(slot(l, d), slot(l, d) + BH),
      w_ih: p.w_ih,
      w_hh: p.w_hh,
      b_ih: p.b_ih,
      b_hh: p.b_hh,
    };
    if (s.lengths) a.lengths = s.lengths;
    if (lstm && inp.c0) a.c0 = inp.c0.slice(slot(l, d), slot(l, d) + BH);
    if (s.peephole) a.peepholeWeights = p.peephole;
    return a;
  };

  // Forward, keeping each layer's input for its backward.
  const inputs: Float64Array[] = [inp.x];
  const hN = new Float64Array(L * D * BH);
  const cN = lstm ? new Float64Array(L * D * BH) : undefined;
  for (let l = 0; l < L; l++) {
    const out = new Float64Array(B * T * D * H);
    for (let d = 0; d < D; d++) {
      const r = ops.rnnForward(dtype, layerArgs(l, d, inputs[l]));
      putCols(out, B * T, D * H, d * H, r.y as Float64Array, H);
      hN.set(r.hN as Float64Array, slot(l, d));
      if (cN) cN.set(r.cN as Float64Array, slot(l, d));
    }
    inputs.push(out);
  }
  const output = inputs[L];

  // Backward, top layer first; the directions of a layer accumulate into one dx via dxInit.
  const dh0 = new Float64Array(L * D * BH);
  const dc0 = lstm ? new Float64Array(L * D * BH) : undefined;
  const grads: StackResult['grads'] = [];
  let dOut = inp.dOut;
  for (let l = L - 1; l >= 0; l--) {
    const I = l === 0 ? s.I : D * H;
    let dx: Float64Array = new Float64Array(B * T * I);
    grads[l] = [];
    for (let d = 0; d < D; d++) {
      const a = layerArgs(l, d, inputs[l]);
      a.dy = takeCols(dOut, B * T, D * H, d * H, H);
      a.dhN = inp.dhN.slice(slot(l, d), slot(l, d) + BH);
      if (lstm && inp.dcN) a.dcN = inp.dcN.slice(slot(l, d), slot(l, d) + BH);
      a.dxInit = dx;
      const r = ops.rnnBackward(dtype, a);
      dx = r.dx as Float64Array;
      dh0.set(r.dh0 as Float64Array, slot(l, d));
      if (dc0) dc0.set(r.dc0 as Float64Array, slot(l, d));
      grads[l][d] = {
        w_ih: r.dw_ih as Float64Array,
        w_hh: r.dw_hh as Float64Array,
        b_ih: r.db_ih as Float64Array,
        b_hh: r.db_hh as Float64Array,
        peephole: r.dpeephole as Float64Array | undefined,
      };
    }
    dOut = dx;
  }
  return { output, hN, cN, dx: dOut, dh0, dc0, grads };
}
