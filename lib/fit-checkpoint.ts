// fit's `checkpoint` option (Keras' ModelCheckpoint, plus the history file): saves through a
// CheckpointManager every N steps or every epoch, keeps the newest K, optionally keeps the best
// by validation loss as best.safetensors, and records history.jsonl at every save and epoch end.
// Checkpoints are named by the model's optimizer step, which continues across resumes, so a run
// resumed from one of them goes on numbering (and pruning) where it left off.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveCheckpoint } from './checkpoint/checkpoint.js';
import { CheckpointManager } from './checkpoint/manager.js';
import { decodeSafetensors } from './checkpoint/safetensors.js';
import { HistoryRecorder, historyPath, readHistory, type HistoryEntry } from './history.js';
import { Model } from './model.js';
import { checkBoolean, checkInt, checkKeys, checkObject } from './validate.js';
import { Vocabulary } from './vocab.js';

/**
 * Where and when fit saves checkpoints (see FitOptions.checkpoint).
 *
 * Files in `dir`: `ckpt-<step, 8 digits>.safetensors` (the model's optimizer step), `best.safetensors`
 * with keepBest, and `history.jsonl` (an entry at every save and epoch end; see HistoryEntry).
 * Resume by loading the newest (new CheckpointManager({ directory: dir }).restore()) and calling fit
 * again with the same option: numbering continues from the model's step, history entries past it
 * are dropped, and fit rejects (RangeError) a directory holding checkpoints past the model's step
 * rather than mixing two runs. fit's own epochs and LR schedule count from 0 in each call.
 */
export interface FitCheckpointOptions {
  /** The directory (created when missing). */
  dir: string;
  /** Save after every `every` training steps, or 'epoch': after each epoch (default 'epoch'). */
  every?: number | 'epoch';
  /** Keep the newest `keep` step checkpoints, deleting older ones (default 5; 0 keeps all). */
  keep?: number;
  /**
   * Also keep `best.safetensors`: the model at the epoch end with the lowest validation loss so far
   * (never pruned). Needs options.validationData or options.validationSplit. Default false.
   */
  keepBest?: boolean;
  /** Stored in every checkpoint, so a text model can be sampled from it. */
  vocabulary?: Vocabulary;
}

/** The file keepBest writes in the checkpoint directory. */
export const BEST_CHECKPOINT = 'best.safetensors';

const KEYS = ['dir', 'every', 'keep', 'keepBest', 'vocabulary'] as const;

/**
 * Checks a FitOptions.checkpoint value.
 * @throws TypeError or RangeError naming the field (options.checkpoint.<field>).
 */
export function checkFitCheckpoint(value: unknown, hasValidation: boolean): FitCheckpointOptions {
  const where = 'options.checkpoint';
  const o = checkObject(value, where) as unknown as FitCheckpointOptions;
  checkKeys(o, KEYS, where);
  if (typeof o.dir !== 'string' || o.dir === '') throw new TypeError(`${where}.dir must be a non-empty string`);
  if (o.every !== undefined && o.every !== 'epoch') {
    if (typeof o.every === 'string') throw new TypeError(`${where}.every must be a positive integer (steps) or 'epoch', got '${o.every}'`);
    checkInt(o.every, `${where}.every`, 1);
  }
  if (o.keep !== undefined) checkInt(o.keep, `${where}.keep`, 0);
  if (o.keepBest !== undefined && checkBoolean(o.keepBest, `${where}.keepBest`) && !hasValidation) {
    throw new TypeError(`${where}.keepBest compares validation losses: it needs options.validationData or options.validationSplit`);
  }
  if (o.vocabulary !== undefined && !(o.vocabulary instanceof Vocabulary)) throw new TypeError(`${where}.vocabulary must be a Vocabulary`);
  return o;
}

/** The checkpoint and history side of one fit call. */
export class FitCheckpointer {
  private best = Infinity;
  // A step save's history entry waits for the epoch end at the same step, which adds its valLoss.
  private pending: HistoryEntry | undefined;

  private constructor(
    private readonly model: Model,
    private readonly options: FitCheckpointOptions,
    private readonly manager: CheckpointManager,
    private readonly history: HistoryRecorder,
    private step: number,
  ) {}

  /**
   * Prepares the directory for a fit of `model`, which starts at its optimizer step.
   * @throws TypeError when `model` is not a Model; RangeError when the directory holds checkpoints
   *   past the model's step (resume from the newest, or use another directory).
   */
  static async start(model: unknown, options: FitCheckpointOptions): Promise<FitCheckpointer> {
    if (!(model instanceof Model)) throw new TypeError('options.checkpoint saves Model checkpoints: the model must be a Model');
    const manager = new CheckpointManager({ directory: options.dir, maxToKeep: options.keep ?? 5 });
    const step = model.exportTrainingState().step;
    const latest = await manager.latest();
    if (latest !== undefined && latest.step > step) {
      throw new RangeError(
        `options.checkpoint.dir ${options.dir} holds a checkpoint at step ${latest.step}, past the model's step ${step}: ` +
          'resume from the newest (loadCheckpoint) or use another directory',
      );
    }
    const history = await HistoryRecorder.start(options.dir, step);
    const self = new FitCheckpointer(model, options, manager, history, step);
    if (options.keepBest) self.best = await bestSoFar(options.dir, step);
    return self;
  }

  /**
   * After each training step: records the loss, saves when `every` steps are due. (A pending
   * entry is written by the next call; one lost to an error has its checkpoint saved already.)
   */
  async afterStep(result: { loss: number; weightSum: number }, epoch: number, learningRate: number): Promise<void> {
    this.step += 1;
    this.history.addStep(result.loss, result.weightSum);
    if (this.pending !== undefined) await this.history.write(this.pending);
    this.pending = undefined;
    const every = this.options.every ?? 'epoch';
    if (every === 'epoch' || this.step % every !== 0) return;
    await this.save();
    this.pending = this.history.take({ step: this.step, epoch: epoch + 1, learningRate });
  }

  /** After each epoch (validation done): history entry, the epoch's save, the best model. */
  async afterEpoch(epoch: number, learningRate: number, valLoss: number | undefined): Promise<void> {
    const entry = this.pending ?? this.history.take({ step: this.step, epoch: epoch + 1, learningRate });
    this.pending = undefined;
    if (entry !== undefined) await this.history.write(valLoss === undefined ? entry : { ...entry, valLoss });
    if ((this.options.every ?? 'epoch') === 'epoch') await this.save();
    if (this.options.keepBest && valLoss !== undefined && valLoss < this.best) {
      this.best = valLoss;
      await saveCheckpoint(join(this.options.dir, BEST_CHECKPOINT), this.model, { vocabulary: this.options.vocabulary });
    }
  }

  private async save(): Promise<void> {
    await this.manager.save(this.model, this.step, { vocabulary: this.options.vocabulary });
  }
}

// The validation loss of the kept best.safetensors: the lowest recorded up to its step. A best
// file from past the resumed step belongs to an abandoned run and does not count.
async function bestSoFar(dir: string, step: number): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, BEST_CHECKPOINT));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Infinity;
    throw error;
  }
  const bestStep = Number(decodeSafetensors(bytes, join(dir, BEST_CHECKPOINT)).metadata.step);
  if (!(bestStep <= step)) return Infinity;
  const losses = (await readHistory(historyPath(dir))).filter((e) => e.step <= bestStep).map((e) => e.valLoss ?? Infinity);
  return Math.min(Infinity, ...losses);
}
