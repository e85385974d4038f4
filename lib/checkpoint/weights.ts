// Weights only, for PyTorch and back: one safetensors file holding the model's parameters under
// their PyTorch names (embedding.weight, rnn.weight_ih_l0, rnn.bias_hh_l1_reverse, dense.weight,
// ...) in the model's dtype, and nothing else: no optimizer moments, no recurrent state. Layer l
// of the stack is `rnn.*_l<l>`, so torch.nn.LSTM/GRU/RNN (one module per layer, or one
// multi-layer module when the layers agree), nn.Embedding and nn.Linear load their slices with
// load_state_dict(strict=True) after stripping the prefix.
import type { Model, RecurrentLayerConfig } from '../model.js';
import { setting } from '../options/model-config.js';
import { writeFileAtomic } from './atomic.js';
import { encodeSafetensors } from './safetensors.js';
import type { Tensor } from './safetensors.js';
import { loadStateDict } from './state-dict.js';

/** `__metadata__.format` of a weights file (readers that do not know it ignore it). */
export const WEIGHTS_FORMAT = 'fusedrnn.weights';

/**
 * The bytes saveWeights writes.
 * @returns a safetensors file of the model's parameters (F32 or F64 as the model's dtype).
 * @throws TypeError when a layer has no PyTorch counterpart (peephole LSTM, resetBefore GRU).
 */
export function encodeWeights(model: Model): Buffer {
  checkTorchCompatible(model);
  const float64 = setting(model.config, 'dtype') === 'float64';
  const tensors = new Map<string, Tensor>();
  for (const p of model.params()) {
    const values = model.getParam(p.name);
    tensors.set(p.name, { dtype: float64 ? 'F64' : 'F32', shape: p.shape, data: float64 ? values : Float32Array.from(values) });
  }
  return encodeSafetensors(tensors, { format: WEIGHTS_FORMAT });
}

/**
 * Writes the model's parameters to `path` (atomically; missing directories are created).
 * @returns a Promise that resolves once the file is durable.
 * @throws TypeError for a bad path or a layer PyTorch has no module for (peephole LSTM,
 *   resetBefore GRU); the returned Promise rejects, naming `path`, when the file cannot be written.
 */
export async function saveWeights(model: Model, path: string): Promise<void> {
  checkPath(path);
  await writeFileAtomic(path, encodeWeights(model));
}

/**
 * Sets every parameter of `model` from a weights file: one saveWeights wrote, or a PyTorch state
 * dict saved as safetensors under the same names. Every tensor is checked before any is set, so
 * on failure the model is unchanged.
 * @returns a Promise that resolves when every parameter is set.
 * @throws TypeError for a bad path or a layer PyTorch has no module for; the Promise rejects with
 *   a CheckpointFormatError naming the tensor when one is missing, extra, misshapen or not finite.
 */
export async function loadWeights(model: Model, path: string): Promise<void> {
  checkPath(path);
  checkTorchCompatible(model);
  await loadStateDict(model, path, { strict: true });
}

// A peephole LSTM and a reset-before GRU compute something no torch.nn module computes: their
// weights would load into PyTorch without error and then give different outputs.
function checkTorchCompatible(model: Model): void {
  model.config.layers.forEach((layer: RecurrentLayerConfig, i: number) => {
    if (layer.peephole === true) {
      throw new TypeError(`layers[${i}] is a peephole LSTM, which PyTorch has no module for; its weights cannot be exchanged with torch.nn.LSTM`);
    }
    if (layer.resetBefore === true) {
      throw new TypeError(`layers[${i}] is a GRU with resetBefore (the TF1/tfjs variant), which PyTorch has no module for; torch.nn.GRU applies the reset gate after the recurrent product`);
    }
  });
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
}
