// Beam-search (and, with a beam of 1, greedy) decoding of a token model: the decoder half of an
// encoder–decoder, or any language model. The hypotheses' recurrent states are the model's carried
// state, one row per live beam, gathered by parent after every step; each step is one predict()
// on the live beams (so it runs on whatever backend the model is on). The model's own carried
// state is put back afterwards.
import { checkSignal } from './abort.js';
import type { Model } from './model.js';
import { setting } from './options/model-config.js';
import { checkFloatArray, checkIds, checkInt, checkInt32Array, checkKeys, checkNumber, checkObject } from './validate.js';

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions {
  /** Tokens to generate at most per hypothesis (after the prime). */
  maxLength: number;
  /** Hypotheses kept per step (default 4); 1 is greedy decoding. */
  beamWidth?: number;
  /** A hypothesis that emits this token is finished (the token is included in its tokens). */
  eos?: number;
  /**
   * GNMT length penalty α: hypotheses are ranked by logProb / ((5 + length) / 6)^α. 0 (the
   * default) ranks by log-probability alone, which favours short hypotheses.
   */
  lengthPenalty?: number;
  /** How many hypotheses to return, best first (default 1, at most beamWidth). */
  results?: number;
  /**
   * The recurrent state to start from, as Model.getState() returns it for one sequence (an
   * encoder's final state, say); default: the zero state.
   */
  initialState?: { batchSize: number; blocks: (Float32Array | Float64Array)[] };
  /** Conditioned models: the [conditionSize] features the decode starts from (see ModelConfig.conditionSize). */
  condition?: Float32Array | Float64Array;
  /** Attention models: the one sequence's memory [steps * memorySize] every hypothesis attends over. */
  memory?: { values: Float32Array | Float64Array; steps: number };
  /**
   * Checked before each decoding step (and while it waits in the model's queue): aborted, the
   * search rejects with signal.reason and the model's carried state is put back.
   */
  signal?: AbortSignal;
}

/** One decoded sequence from {@link beamSearch}, with its log-probability and ranking score. */
export interface Hypothesis {
  /** The generated tokens (the prime excluded; ends with eos when finished). */
  tokens: Int32Array;
  /** Sum of the tokens' log-probabilities under the model. */
  logProb: number;
  /** logProb after the length penalty: what hypotheses are ranked by. */
  score: number;
  /** true when it ended with eos, false when it ran to maxLength. */
  finished: boolean;
}

interface Beam {
  tokens: number[];
  logProb: number;
}

/**
 * Decodes one prime sequence.
 * @returns a promise of the best `results` hypotheses, best first (each with its tokens, log-probability,
 *   score and whether it finished).
 * @throws TypeError or RangeError (as a rejection) naming the argument when one is missing, of the wrong
 *   type or out of range; options.signal's reason when aborted. The model's carried state is put back in
 *   any case.
 */
export async function beamSearch(model: Model, prime: Int32Array, options: BeamSearchOptions): Promise<Hypothesis[]> {
  const opts = checkBeamArgs(model, prime, options);
  const V = model.outputSize;
  const penalty = (n: number) => ((5 + n) / 6) ** opts.lengthPenalty;
  const hypothesis = (b: Beam, finished: boolean): Hypothesis => ({
    tokens: Int32Array.from(b.tokens),
    logProb: b.logProb,
    score: b.logProb / penalty(b.tokens.length),
    finished,
  });
  const saved = model.getState();
  try {
    if (opts.initialState) model.setState(opts.initialState);
    // Each live hypothesis is a row: an attention model gets the memory once per row.
    const memoryFor = (rows: number) =>
      opts.memory ? { memory: repeat(opts.memory.values, rows), memorySteps: opts.memory.steps } : {};
    let logits = lastRows(
      await model.predict(
        { inputs: prime, batchSize: 1, steps: prime.length, ...(opts.condition ? { condition: opts.condition } : {}), ...memoryFor(1) },
        { useState: opts.initialState !== undefined, carryState: true, ...opts.abortable },
      ),
      model.config.output === 'last' ? 1 : prime.length,
      V,
    );
    let live: Beam[] = [{ tokens: [], logProb: 0 }];
    const done: Hypothesis[] = [];
    for (let step = 0; step < opts.maxLength && live.length > 0; step++) {
      const candidates: { parent: number; token: number; logProb: number }[] = [];
      live.forEach((beam, i) => {
        const lp = logSoftmax(logits.subarray(i * V, (i + 1) * V));
        for (let v = 0; v < V; v++) candidates.push({ parent: i, token: v, logProb: beam.logProb + lp[v] });
      });
      // Best first; ties broken by beam then token, so a decode is a pure function of the model.
      candidates.sort((a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token);
      const next: { parent: number; beam: Beam }[] = [];
      for (const c of candidates.slice(0, opts.beamWidth)) {
        const beam = { tokens: [...live[c.parent].tokens, c.token], logProb: c.logProb };
        if (c.token === opts.eos) done.push(hypothesis(beam, true));
        else next.push({ parent: c.parent, beam });
      }
      // Without a length penalty a hypothesis only loses probability as it grows: once the best
      // finished one beats every live one, nothing live can overtake it.
      const bestDone = Math.max(...done.map((h) => h.score));
      if (opts.lengthPenalty === 0 && done.length >= opts.results && next.every((n) => n.beam.logProb <= bestDone)) {
        live = [];
        break;
      }
      live = next.map((n) => n.beam);
      if (live.length === 0 || step + 1 === opts.maxLength) break;
      gatherState(model, next.map((n) => n.parent));
      const inputs = Int32Array.from(live, (b) => b.tokens[b.tokens.length - 1]);
      logits = await model.predict({ inputs, batchSize: live.length, steps: 1, ...memoryFor(live.length) }, { carryState: true, ...opts.abortable });
    }
    const all = [...done, ...live.map((b) => hypothesis(b, false))];
    all.sort((a, b) => b.score - a.score);
    return all.slice(0, opts.results);
  } finally {
    if (saved.blocks.length > 0) model.setState(saved);
    else model.resetState();
  }
}

/** The carried state's rows reordered (and repeated) to `parents`: the new beams' states. */
function gatherState(model: Model, parents: number[]): void {
  const { batchSize, blocks } = model.getState();
  const gathered = blocks.map((block) => {
    const rowWidth = block.length / batchSize;
    const out = new Float64Array(parents.length * rowWidth);
    parents.forEach((p, i) => out.set(block.subarray(p * rowWidth, (p + 1) * rowWidth), i * rowWidth));
    return out;
  });
  model.setState({ batchSize: parents.length, blocks: gathered });
}

function repeat(values: Float32Array | Float64Array, times: number): Float64Array {
  const out = new Float64Array(values.length * times);
  for (let i = 0; i < times; i++) out.set(values, i * values.length);
  return out;
}

function lastRows(out: Float64Array, steps: number, V: number): Float64Array {
  return out.subarray((steps - 1) * V, steps * V);
}

function logSoftmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const logZ = max + Math.log(sum);
  return logits.map((x) => x - logZ);
}

function checkBeamArgs(model: Model, prime: Int32Array, options: BeamSearchOptions) {
  checkObject(options, 'options');
  checkKeys(options, ['maxLength', 'beamWidth', 'eos', 'lengthPenalty', 'results', 'initialState', 'condition', 'memory', 'signal'], 'beam search options');
  const signal = checkSignal(options.signal);
  const vocab = model.vocabSize;
  if (vocab === undefined || setting(model.config, 'loss') !== 'softmaxCrossEntropy') {
    throw new TypeError('beamSearch needs a model with token inputs and a softmax output');
  }
  if (model.config.layers.some((l) => l.bidirectional)) throw new TypeError('beamSearch needs a unidirectional model');
  checkInt32Array(prime, 'prime');
  if (prime.length === 0) throw new RangeError('prime must hold at least one token');
  checkIds(prime, 'prime', vocab);
  const maxLength = checkInt(options.maxLength, 'options.maxLength', 1, 1 << 20);
  const beamWidth = checkInt(options.beamWidth ?? 4, 'options.beamWidth', 1, 1 << 12);
  const eos = options.eos === undefined ? undefined : checkInt(options.eos, 'options.eos', 0, model.outputSize - 1);
  const lengthPenalty = checkNumber(options.lengthPenalty ?? 0, 'options.lengthPenalty', 0, 10);
  const results = checkInt(options.results ?? 1, 'options.results', 1, beamWidth);
  let initialState: BeamSearchOptions['initialState'];
  if (options.initialState !== undefined) {
    checkObject(options.initialState, 'options.initialState');
    if (options.initialState.batchSize !== 1) throw new RangeError('options.initialState must be the state of one sequence (batchSize 1)');
    if (!Array.isArray(options.initialState.blocks)) throw new TypeError('options.initialState.blocks must be an array');
    options.initialState.blocks.forEach((b, i) => checkFloatArray(b, `options.initialState.blocks[${i}]`));
    initialState = options.initialState;
  }
  // The model checks the condition's size and values on the first predict.
  const condition = options.condition === undefined ? undefined : checkFloatArray(options.condition, 'options.condition');
  let memory: BeamSearchOptions['memory'];
  if (options.memory !== undefined) {
    checkObject(options.memory, 'options.memory');
    checkKeys(options.memory, ['values', 'steps'], 'options.memory');
    const steps = checkInt(options.memory.steps, 'options.memory.steps', 1, 1 << 24);
    memory = { values: checkFloatArray(options.memory.values, 'options.memory.values'), steps }; // sizes: the model checks
  }
  return { maxLength, beamWidth, eos, lengthPenalty, results, initialState, condition, memory, abortable: signal ? { signal } : {} };
}
