// An encoder–decoder (the textbooks' translator) from two Models: the encoder's final states
// start the decoder, which is fed the target shifted right behind <go> (teacher forcing) and
// trained with steps past each target's end weighted 0; the decoder's gradient with respect to
// its starting state trains the encoder (trainStep stateGrad -> trainFromStateGrad), so the pair
// trains end to end on either backend. Decoding is beamSearch from the encoded state.
import { checkSignal } from './abort.js';
import { beamSearch, type Hypothesis } from './decode.js';
import { Model, type ModelConfig, type RecurrentLayerConfig, type StepResult, type TrainStepOptions } from './model.js';
import { cellOf } from './options/model-config.js';
import { checkInt, checkInt32Array, checkIds, checkKeys, checkObject } from './validate.js';

/**
 * What {@link Seq2Seq.create} builds: both vocabularies, the start and end tokens, the embedding size,
 * the recurrent stack of each side, optional attention, and where the pair runs.
 */
export interface Seq2SeqConfig {
  sourceVocabSize: number;
  targetVocabSize: number;
  /** Target-vocabulary ids of the decoder's start token and of the end token it learns to emit. */
  go: number;
  eos: number;
  /** Embedding size of both sides (default 32). */
  embeddingDim?: number;
  /** The recurrent stack of each side (unidirectional; the decoder's layer k starts from the encoder's layer k). */
  layers: RecurrentLayerConfig[];
  /**
   * Luong attention of the decoder over the encoder's outputs (their padding masked by
   * sourceLengths): 'general' (h·W_a·m) or 'dot'; default none.
   */
  attention?: 'general' | 'dot';
  seed?: number;
  backend?: ModelConfig['backend'];
  precision?: ModelConfig['precision'];
  dtype?: ModelConfig['dtype'];
}

/** A batch of source and target sequences, each padded after its length, for {@link Seq2Seq.trainStep} and {@link Seq2Seq.evaluate}. */
export interface Seq2SeqBatch {
  /** Source token ids [batchSize * sourceSteps], padded after each sequence's length. */
  source: Int32Array;
  sourceSteps: number;
  sourceLengths?: Int32Array;
  /** Target token ids [batchSize * targetSteps] ending with eos, padded after targetLengths. */
  target: Int32Array;
  targetSteps: number;
  targetLengths?: Int32Array;
  batchSize: number;
}

/** Options of {@link Seq2Seq.translate}: the beam search's limits (as {@link BeamSearchOptions}). */
export interface TranslateOptions {
  /** Tokens to generate at most (default: 2 × the source length + 2). */
  maxLength?: number;
  /** Default 4; 1 is greedy decoding. */
  beamWidth?: number;
  lengthPenalty?: number;
  results?: number;
  /** As beamSearch's: checked before each decoding step; aborted, rejects with signal.reason. */
  signal?: AbortSignal;
}

/**
 * An encoder–decoder of two {@link Model}s: the encoder's final states start the decoder, which is trained with
 * teacher forcing; the pair trains end to end (it is a {@link Trainable}, so {@link fit} takes it) and decodes with beam search.
 * Parameters are named `encoder.*` and `decoder.*`.
 */
export class Seq2Seq {
  readonly encoder: Model;
  readonly decoder: Model;
  readonly config: Readonly<Seq2SeqConfig>;

  private constructor(config: Seq2SeqConfig, encoder: Model, decoder: Model) {
    this.config = config;
    this.encoder = encoder;
    this.decoder = decoder;
  }

  /**
   * Rebuilds the pair from its two models (e.g. each loaded from its own checkpoint) and the
   * config it was created with.
   */
  static fromModels(config: Seq2SeqConfig, encoder: Model, decoder: Model): Seq2Seq {
    checkConfig(config);
    if (encoder.vocabSize !== config.sourceVocabSize || decoder.vocabSize !== config.targetVocabSize) {
      throw new RangeError('the encoder and decoder must take the config\'s source and target vocabularies');
    }
    const units = (m: Model) => m.config.layers.map((l) => `${cellOf(l)}:${l.units}`).join(',');
    if (units(encoder) !== units(decoder)) throw new RangeError('the encoder and decoder must have the same recurrent layers');
    return new Seq2Seq(config, encoder, decoder);
  }

  /**
   * Builds the encoder and decoder models with freshly initialized parameters.
   * @returns the pair.
   * @throws TypeError or RangeError naming the config field that is missing or out of range (bidirectional
   *   layers are refused).
   */
  static create(config: Seq2SeqConfig): Seq2Seq {
    checkConfig(config);
    const targetVocab = config.targetVocabSize;
    const dim = checkInt(config.embeddingDim ?? 32, 'config.embeddingDim', 1);
    const shared = { layers: config.layers, backend: config.backend, precision: config.precision, dtype: config.dtype };
    const seed = config.seed ?? 0;
    const encoder = Model.create({
      ...shared,
      input: { type: 'embedding', vocabSize: config.sourceVocabSize, dim },
      output: 'last',
      dense: [{ units: 2 }], // unused: the encoder's output is its final states
      seed,
    });
    const memorySize = config.layers[config.layers.length - 1].units;
    const decoder = Model.create({
      ...shared,
      input: { type: 'embedding', vocabSize: targetVocab, dim },
      dense: [{ units: targetVocab }],
      seed: seed + 1,
      ...(config.attention ? { attention: { memorySize, score: config.attention } } : {}),
    });
    return new Seq2Seq(config, encoder, decoder);
  }

  /**
   * One step of both models on a batch: resolves with the decoder's loss and accuracy (per target
   * token). options.signal is checked until the decoder's update is dispatched: aborted by then,
   * the step rejects with signal.reason and neither model changes; after it, both updates complete.
   */
  async trainStep(batch: Seq2SeqBatch, options: TrainStepOptions = {}): Promise<StepResult> {
    const { source, decoderBatch } = this.split(batch);
    checkSignal(options.signal)?.throwIfAborted();
    const encoded = await this.encoder.encode(source, { training: true });
    this.decoder.setState(encoded);
    const attend = this.config.attention !== undefined;
    const step = await this.decoder.trainStep(
      { ...decoderBatch, ...this.memory(encoded, batch) },
      { ...options, carryState: true, stateGrad: true, memoryGrad: attend },
    );
    // The decoder has updated: the encoder's half must follow, so it gets no signal.
    const { carryState: _c, stateGrad: _s, memoryGrad: _m, signal: _a, ...encoderOptions } = options;
    await this.encoder.trainFromStateGrad(step.stateGrad!, encoderOptions, attend ? step.memoryGrad : undefined);
    const { stateGrad: _g, memoryGrad: _n, ...result } = step;
    return result;
  }

  /** The decoder's loss (teacher forced) on a batch, without training. (No carried state: options are ignored.) */
  async evaluate(batch: Seq2SeqBatch, _options?: unknown): Promise<StepResult> {
    const { source, decoderBatch } = this.split(batch);
    const encoded = await this.encoder.encode(source);
    this.decoder.setState(encoded);
    return this.decoder.evaluate({ ...decoderBatch, ...this.memory(encoded, batch) }, { useState: true });
  }

  /** Decodes one source sequence (no padding) with beam search until eos; best first. */
  async translate(source: Int32Array, options: TranslateOptions = {}): Promise<Hypothesis[]> {
    checkObject(options, 'options');
    checkKeys(options, ['maxLength', 'beamWidth', 'lengthPenalty', 'results', 'signal'], 'translate options');
    checkInt32Array(source, 'source');
    if (source.length === 0) throw new RangeError('source must hold at least one token');
    checkIds(source, 'source', this.config.sourceVocabSize);
    checkSignal(options.signal)?.throwIfAborted();
    const initialState = await this.encoder.encode({ inputs: source, batchSize: 1, steps: source.length });
    // beamSearch checks the options (under the same names).
    return beamSearch(this.decoder, Int32Array.from([this.config.go]), {
      ...(this.config.attention ? { memory: { values: initialState.outputs, steps: source.length } } : {}),
      maxLength: options.maxLength ?? 2 * source.length + 2,
      beamWidth: options.beamWidth,
      lengthPenalty: options.lengthPenalty,
      results: options.results,
      ...(options.signal ? { signal: options.signal } : {}),
      eos: this.config.eos,
      initialState,
    });
  }

  /** Every batch starts from the encoder's state: nothing is carried (fit's stateful is meaningless here). */
  resetState(): void {}

  /** Both halves' parameters, named `encoder.<name>` and `decoder.<name>` (for fit's early stopping). */
  params(): { name: string; shape: number[]; trainable: boolean }[] {
    return [
      ...this.encoder.params().map((p) => ({ ...p, name: `encoder.${p.name}` })),
      ...this.decoder.params().map((p) => ({ ...p, name: `decoder.${p.name}` })),
    ];
  }

  /**
   * @returns a copy of the parameter `encoder.<name>` or `decoder.<name>`.
   * @throws TypeError when `name` is not a string, RangeError when it has neither prefix or the model has no
   *   such parameter.
   */
  getParam(name: string): Float64Array {
    const [model, inner] = this.half(name);
    return model.getParam(inner);
  }

  /**
   * Overwrites the parameter `encoder.<name>` or `decoder.<name>`.
   * @throws TypeError or RangeError for an unknown name or values of the wrong type or length.
   */
  setParam(name: string, values: Float32Array | Float64Array): void {
    const [model, inner] = this.half(name);
    model.setParam(inner, values);
  }

  /** Frees both models' native memory now; later calls throw. */
  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
  }

  private half(name: string): [Model, string] {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    if (name.startsWith('encoder.')) return [this.encoder, name.slice('encoder.'.length)];
    if (name.startsWith('decoder.')) return [this.decoder, name.slice('decoder.'.length)];
    throw new RangeError(`parameter names start with 'encoder.' or 'decoder.', got '${name}'`);
  }

  // An attention decoder's memory: the encoder's outputs, padding masked by the source lengths.
  private memory(encoded: { outputs: Float64Array; steps: number }, batch: Seq2SeqBatch) {
    if (this.config.attention === undefined) return {};
    return {
      memory: encoded.outputs,
      memorySteps: encoded.steps,
      ...(batch.sourceLengths ? { memoryLengths: batch.sourceLengths } : {}),
    };
  }

  // The encoder's batch, and the decoder's: <go> + target[:-1] in, target out.
  private split(batch: Seq2SeqBatch) {
    checkObject(batch, 'batch');
    checkKeys(batch, ['source', 'sourceSteps', 'sourceLengths', 'target', 'targetSteps', 'targetLengths', 'batchSize'], 'seq2seq batch');
    const B = checkInt(batch.batchSize, 'batch.batchSize', 1);
    const T = checkInt(batch.targetSteps, 'batch.targetSteps', 1);
    checkInt32Array(batch.target, 'batch.target', B * T);
    const inputs = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      inputs[b * T] = this.config.go;
      inputs.set(batch.target.subarray(b * T, b * T + T - 1), b * T + 1);
    }
    const source = {
      inputs: batch.source,
      batchSize: B,
      steps: batch.sourceSteps,
      ...(batch.sourceLengths ? { lengths: batch.sourceLengths } : {}),
    };
    const decoderBatch = {
      inputs,
      targets: batch.target,
      batchSize: B,
      steps: T,
      ...(batch.targetLengths ? { lengths: batch.targetLengths } : {}),
    };
    return { source, decoderBatch };
  }
}

function checkConfig(config: Seq2SeqConfig): void {
  checkObject(config, 'config');
  checkKeys(config, ['sourceVocabSize', 'targetVocabSize', 'go', 'eos', 'embeddingDim', 'layers', 'attention', 'seed', 'backend', 'precision', 'dtype'], 'seq2seq config');
  if (config.attention !== undefined && config.attention !== 'general' && config.attention !== 'dot') {
    throw new RangeError("config.attention must be 'general' or 'dot'");
  }
  checkInt(config.sourceVocabSize, 'config.sourceVocabSize', 1);
  const targetVocab = checkInt(config.targetVocabSize, 'config.targetVocabSize', 2);
  checkInt(config.go, 'config.go', 0, targetVocab - 1);
  checkInt(config.eos, 'config.eos', 0, targetVocab - 1);
  if (!Array.isArray(config.layers) || config.layers.some((l) => l?.bidirectional)) {
    throw new TypeError('config.layers must be an array of unidirectional layers (the decoder continues each one)');
  }
}
