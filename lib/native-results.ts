// The binding's results turned into the public ones: step results with accuracy, probabilities
// from logits, and Model.info().
import type { NativeModelInfo, NativeStepResult } from '../typings/model.js';
import type { BuildInfo } from '../typings/native.js';
import type { ModelInfo, StepResult } from './model-types.js';

/** A native step or evaluation's result, `correct` turned into an accuracy. */
export function toStepResult(r: NativeStepResult): StepResult {
  const out: StepResult = {
    loss: r.loss,
    gradNorm: r.gradNorm,
    accuracy: r.weightSum > 0 ? r.correct / r.weightSum : 0,
    weightSum: r.weightSum,
    skipped: r.skipped ?? false,
  };
  if (r.stateGrad !== undefined) out.stateGrad = r.stateGrad;
  if (r.memoryGrad !== undefined) out.memoryGrad = r.memoryGrad;
  return out;
}

/** Softmax of each row of `width` logits, shifted by the row's max so no exp overflows. */
export function softmaxRows(logits: Float64Array, width: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += width) {
    let max = -Infinity;
    for (let i = start; i < start + width; i++) max = Math.max(max, logits[i]);
    let sum = 0;
    for (let i = start; i < start + width; i++) sum += out[i] = Math.exp(logits[i] - max);
    for (let i = start; i < start + width; i++) out[i] /= sum;
  }
  return out;
}

/** Model.info() from the native model's info, the build, the CPU kernels and the 'auto' fallback reason. */
export function toModelInfo(n: NativeModelInfo, build: BuildInfo, cpu: ModelInfo['cpu'], fallbackReason: string | undefined): ModelInfo {
  const out: ModelInfo = {
    backend: n.backend,
    dtype: n.dtype,
    precision: n.precision,
    step: n.step,
    parameterCount: n.parameterCount,
    nativeBytes: n.nativeBytes,
    graphCaptures: n.graphCaptures,
    graphReplays: n.graphReplays,
    graphFallbacks: n.graphFallbacks,
    build: { ...build },
  };
  if (n.device !== undefined) {
    out.device = {
      ordinal: n.device,
      name: n.deviceName ?? '',
      computeCapability: n.computeCapability ?? '',
      totalMemory: n.totalMemory ?? 0,
      driverVersion: n.driverVersion ?? 0,
      runtimeVersion: n.runtimeVersion ?? 0,
    };
  }
  if (cpu !== undefined) out.cpu = cpu;
  if (fallbackReason !== undefined) out.fallbackReason = fallbackReason;
  return out;
}
