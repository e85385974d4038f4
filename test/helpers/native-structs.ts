// Complete structs for tests that call the raw binding: built by lib/'s own tables, as
// Model does, so every field the binding requires is there.
import type { ModelConfig } from '../../lib/index.js';
import type { NativeBackendOptions, NativeModelConfig, NativeSampleOptions, NativeTrainOptions } from '../../typings/model.js';
import { MODEL_OPTIONS, toNativeConfig } from '../../lib/options/model-config.js';
import { readSampleOptions } from '../../lib/options/sample.js';
import { readTrainOptions } from '../../lib/options/train.js';

/** The binding's config for a public ModelConfig. */
export function nativeConfig(config: ModelConfig): NativeModelConfig {
  return toNativeConfig(config);
}

/** trainStep's options with lib's defaults for what `options` leaves out. */
export function nativeTrainOptions(options: Record<string, unknown> = {}): NativeTrainOptions {
  return readTrainOptions(options, 'float32').native;
}

/** generate's options with lib's defaults for what `options` leaves out (seed 0 unless given). */
export function nativeSampleOptions(options: Record<string, unknown> = {}): NativeSampleOptions {
  return readSampleOptions({ seed: 0, ...options }).native;
}

/** Where a model runs: the default device and precision, parameters initialized. */
export const nativeBackendOptions: NativeBackendOptions = {
  device: MODEL_OPTIONS.device.default,
  precision: MODEL_OPTIONS.precision.default,
  initialize: true,
};
