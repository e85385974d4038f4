// The contract of the native addon: everything lib/ may call. Validation happens in lib/; the
// addon re-checks sizes and ranges so a caller that bypasses lib/ gets an error, never a crash.

export type DType = 'float32' | 'float64';

/** One op of ops.h run on a backend; tensors cross as Float64Array / Int32Array. */
export type OpHarness = (dtype: DType, args: Record<string, unknown>) => Record<string, Float64Array | Int32Array | number>;

export interface NativeAddon {
  ops: Record<string, OpHarness>;
}
