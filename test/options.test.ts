// Every call's option table (lib/options/) against the types that declare its options: the
// public types and the binding's structs (typings/model.d.ts). `tsc -p tsconfig.test.json` fails
// when a declared key and a table differ (`exactKeys` below); the runtime checks compare each
// table, and what lib/ sends the binding, with those compile-checked lists.
import { describe, expect, it } from 'vitest';
import type {
  Batch,
  DenseLayerConfig,
  EvaluateDataOptions,
  EvaluateOptions,
  FitOptions,
  ModelConfig,
  PredictDataOptions,
  PredictOptions,
  RecurrentLayerConfig,
  SampleOptions,
  TrainStepOptions,
} from '../lib/index.js';
import type { NativeBackendOptions, NativeLayerConfig, NativeModelConfig, NativeSampleOptions, NativeTrainOptions } from '../typings/model.js';
import { BATCH_KEYS } from '../lib/batch.js';
import { ENCODE_OPTIONS, EVALUATE_OPTIONS, PREDICT_OPTIONS } from '../lib/options/evaluate.js';
import { EVALUATE_DATA_OPTIONS, FIT_OPTIONS, PREDICT_DATA_OPTIONS } from '../lib/options/fit.js';
import { ATTENTION_OPTIONS, DENSE_OPTIONS, LAYER_OPTIONS, MODEL_OPTIONS, toNativeConfig } from '../lib/options/model-config.js';
import { SAMPLE_OPTIONS } from '../lib/options/sample.js';
import { keysOf } from '../lib/options/table.js';
import { TRAIN_OPTIONS } from '../lib/options/train.js';
import { nativeBackendOptions, nativeSampleOptions, nativeTrainOptions } from './helpers/native-structs.js';

type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

// `exactKeys<T>()(...keys)` compiles only when `keys` are exactly T's keys: an extra key is not
// assignable to keyof T, and a missing one turns the argument into an error naming it.
function exactKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...keys: K & (Missing<T, K> extends never ? unknown : { missing: Missing<T, K> })
  ): string[] => [...keys].sort();
}

// Compiles only when a table's keys are exactly T's keys (T: a declared options type).
type SameKeys<T, Table> = [keyof Required<T>] extends [keyof Table] ? ([keyof Table] extends [keyof Required<T>] ? true : false) : false;
const tablesMatchTypes: [
  SameKeys<TrainStepOptions, typeof TRAIN_OPTIONS>,
  SameKeys<SampleOptions, typeof SAMPLE_OPTIONS>,
  SameKeys<ModelConfig, typeof MODEL_OPTIONS>,
  SameKeys<RecurrentLayerConfig, typeof LAYER_OPTIONS>,
  SameKeys<DenseLayerConfig, typeof DENSE_OPTIONS>,
  SameKeys<NonNullable<ModelConfig['attention']>, typeof ATTENTION_OPTIONS>,
  SameKeys<EvaluateOptions, typeof EVALUATE_OPTIONS>,
  SameKeys<PredictOptions, typeof PREDICT_OPTIONS>,
  SameKeys<{ training?: boolean }, typeof ENCODE_OPTIONS>,
  SameKeys<FitOptions, typeof FIT_OPTIONS>,
  SameKeys<EvaluateDataOptions, typeof EVALUATE_DATA_OPTIONS>,
  SameKeys<PredictDataOptions, typeof PREDICT_DATA_OPTIONS>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];

const sorted = (table: object) => keysOf(table).sort();

describe('option tables and their declarations', () => {
  it('every table has the keys its type declares (tsc checks the types; this, the lists)', () => {
    expect(tablesMatchTypes.every((ok) => ok)).toBe(true);
    const trainKeys = exactKeys<TrainStepOptions>()(
      'learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'decoupledWeightDecay', 'clipNorm',
      'carryState', 'nonFinite', 'stateGrad', 'memoryGrad', 'signal',
    );
    expect(sorted(TRAIN_OPTIONS)).toEqual(trainKeys);
    const sampleKeys = exactKeys<SampleOptions>()('temperature', 'topK', 'topP', 'greedy', 'seed', 'condition', 'precision', 'signal');
    expect(sorted(SAMPLE_OPTIONS)).toEqual(sampleKeys);
    const modelKeys = exactKeys<ModelConfig>()(
      'input', 'layers', 'output', 'dense', 'loss', 'init', 'forgetBias', 'seed', 'conditionSize', 'sampledSoftmax',
      'attention', 'backend', 'device', 'precision', 'dtype',
    );
    expect(sorted(MODEL_OPTIONS)).toEqual(modelKeys);
    const layerKeys = exactKeys<RecurrentLayerConfig>()(
      'cell', 'units', 'activation', 'bidirectional', 'peephole', 'resetBefore', 'dropoutInput', 'dropoutOutput',
    );
    expect(sorted(LAYER_OPTIONS)).toEqual(layerKeys);
    expect(sorted(DENSE_OPTIONS)).toEqual(exactKeys<DenseLayerConfig>()('units', 'activation'));
    expect(sorted(EVALUATE_OPTIONS)).toEqual(exactKeys<EvaluateOptions>()('useState', 'carryState', 'signal'));
    expect(sorted(PREDICT_OPTIONS)).toEqual(exactKeys<PredictOptions>()('useState', 'carryState', 'signal', 'output'));
    const fitKeys = exactKeys<FitOptions>()(
      'epochs', 'learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'decoupledWeightDecay', 'clipNorm',
      'stateful', 'validationData', 'validationSplit', 'earlyStopping', 'signal', 'progress', 'seed', 'onBatchEnd',
      'onEpochEnd', 'checkpoint',
    );
    expect(sorted(FIT_OPTIONS)).toEqual(fitKeys);
    expect(sorted(EVALUATE_DATA_OPTIONS)).toEqual(exactKeys<EvaluateDataOptions>()('stateful', 'signal', 'epoch', 'seed'));
    expect(sorted(PREDICT_DATA_OPTIONS)).toEqual(exactKeys<PredictDataOptions>()('steps', 'output', 'signal'));
    const batchKeys = exactKeys<Batch>()(
      'inputs', 'targets', 'batchSize', 'steps', 'lengths', 'weights', 'condition', 'memory', 'memorySteps', 'memoryLengths',
    );
    expect([...BATCH_KEYS].sort()).toEqual(batchKeys);
  });

  it("fit's step options are the train table's (no copy of their own)", () => {
    const own = ['epochs', 'learningRate', 'stateful', 'validationData', 'validationSplit', 'earlyStopping', 'signal', 'progress', 'seed', 'onBatchEnd', 'onEpochEnd', 'checkpoint'];
    for (const key of keysOf(FIT_OPTIONS).filter((k) => !own.includes(k))) expect(keysOf(TRAIN_OPTIONS)).toContain(key);
    expect(FIT_OPTIONS.learningRate.default).toBe(TRAIN_OPTIONS.learningRate.default);
  });

  it('lib/ sends the binding every field of its structs, defaults filled in', () => {
    expect(Object.keys(nativeTrainOptions()).sort()).toEqual(
      exactKeys<NativeTrainOptions>()(
        'learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'decoupledWeightDecay', 'clipNorm',
        'carryState', 'nonFinite', 'stateGrad', 'memoryGrad',
      ),
    );
    expect(nativeTrainOptions().clipNorm).toBe(TRAIN_OPTIONS.clipNorm.default);
    // condition is data (a conditioned model's features), not a setting: absent for other models.
    expect(Object.keys(nativeSampleOptions()).sort()).toEqual(
      exactKeys<Omit<NativeSampleOptions, 'condition'>>()('temperature', 'topK', 'topP', 'greedy', 'seed', 'precision'),
    );
    expect(Object.keys(nativeBackendOptions).sort()).toEqual(exactKeys<NativeBackendOptions>()('device', 'precision', 'initialize'));
    const config = toNativeConfig({ input: { type: 'oneHot', vocabSize: 4 }, layers: [{ units: 3 }], dense: [{ units: 4 }] });
    expect(Object.keys(config).sort()).toEqual(
      exactKeys<NativeModelConfig>()(
        'input', 'vocab', 'embeddingDim', 'freezeEmbedding', 'features', 'layers', 'returnSequences', 'dense', 'loss',
        'init', 'forgetBias', 'seed', 'condition', 'sampledSoftmax', 'attention', 'attentionScore',
      ),
    );
    expect(Object.keys(config.layers[0]).sort()).toEqual(
      exactKeys<NativeLayerConfig>()('cell', 'hidden', 'bidirectional', 'peephole', 'resetBefore', 'dropoutInput', 'dropoutOutput'),
    );
    expect(Object.keys(config.dense[0]).sort()).toEqual(['activation', 'units']);
  });
});
