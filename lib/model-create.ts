// Building a model: the config checked and translated, the backend chosen ('auto' probes the
// CUDA addon), the parameters checked against the memory budget.
import { checkModelSize, memoryBudget } from './memory-budget.js';
import type { ModelConfig } from './model-config.js';
import type { ParamInfo } from './model-types.js';
import { loadNative, nativeStatus } from './native.js';
import { setting, toNativeConfig } from './options/model-config.js';
import type { NativeParamInfo } from '../typings/model.js';

/** The parameters (names, shapes, trainable) a config would have, without building the model. */
export function plannedParams(config: ModelConfig): ParamInfo[] {
  return loadNative({ backend: 'cpu' }).Model.planParams(toNativeConfig(config)).map((p: NativeParamInfo) => ({ ...p, shape: [...p.shape] }));
}

/** Validation, backend choice and the addon to build with: create() and createAsync() alike. */
export function prepareCreate(config: ModelConfig) {
  const nativeConfig = toNativeConfig(config);
  const choice = chooseBackend(config);
  const addon = loadNative({ backend: choice.backend });
  const bytesPerValue = setting(config, 'dtype') === 'float64' ? 8 : 4;
  checkModelSize(addon.Model.planParams(nativeConfig), bytesPerValue, memoryBudget(addon, choice.backend, setting(config, 'device')));
  const options = { device: setting(config, 'device'), precision: setting(config, 'precision') };
  return { nativeConfig, choice, addon, options };
}

/** The native backend for a config: 'auto' resolves to 'cuda' only when the CUDA addon's probe ran. */
function chooseBackend(config: ModelConfig): { backend: 'cpu' | 'cuda'; fallbackReason?: string } {
  const requested = setting(config, 'backend');
  if (requested === 'cpu') return { backend: 'cpu' };
  if (setting(config, 'dtype') === 'float64') {
    if (requested === 'cuda') throw new RangeError("config.dtype 'float64' runs on the CPU only; use backend 'cpu' or 'auto'");
    return { backend: 'cpu', fallbackReason: "dtype 'float64' runs on the CPU only" };
  }
  if (requested === 'cuda') {
    loadNative({ backend: 'cuda' }); // throws the probe's reason
    return { backend: 'cuda' };
  }
  const status = nativeStatus({ backend: 'auto' });
  if (status.variant === 'cuda') return { backend: 'cuda' };
  return { backend: 'cpu', fallbackReason: status.fallbackReason ?? 'the CUDA addon is not usable' };
}
