// The training loop behind `fusedrnn train`: truncated BPTT over contiguous streams, progress
// (the redrawn bar on a terminal, lines in logs), validation and checkpoints. Its own loop rather
// than fit(), because a resumed run starts mid-epoch at the checkpoint's data cursor.
import type { CheckpointManager } from '../checkpoint/manager.js';
import { evaluateData } from '../fit.js';
import { HistoryRecorder } from '../history.js';
import { ProgressBar, formatDuration, type ProgressSink } from '../progress.js';
import type { Model, TrainStepOptions } from '../model.js';
import { streamBatches } from '../text.js';
import type { TokenBatch } from '../text.js';
import type { Vocabulary } from '../vocab.js';
import { UsageError } from './args.js';

export interface TrainingRun {
  model: Model;
  vocab: Vocabulary;
  train: Int32Array;
  validation?: Int32Array;
  /** Measure validation from a zero state in every window instead of carrying it across them. */
  validationStateless?: boolean;
  batchSize: number;
  steps: number;
  epochs: number;
  maxSteps?: number;
  stepOptions: TrainStepOptions & { learningRate: number };
  logEvery: number;
  manager: CheckpointManager;
  /** Where to start: the next epoch and batch, and the steps already taken. */
  cursor: { epoch: number; batch: number; step: number };
  out: NodeJS.WritableStream;
}

/** A run stopped by SIGINT/SIGTERM after saving a checkpoint; the command exits with exitCode. */
export class Interrupted extends Error {
  constructor(readonly exitCode: number) {
    super('interrupted');
  }
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

// The first SIGINT/SIGTERM asks the loop to stop after the current step and save; a second one
// exits at once, as an impatient user means it to.
function watchSignals(): { received(): keyof typeof SIGNAL_EXIT | undefined; dispose(): void } {
  let first: keyof typeof SIGNAL_EXIT | undefined;
  const handlers = (Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]).map((signal) => {
    const handler = () => {
      if (first !== undefined) process.exit(SIGNAL_EXIT[signal]);
      first = signal;
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return { received: () => first, dispose: () => handlers.forEach((off) => off()) };
}

export async function runTraining(run: TrainingRun): Promise<void> {
  const signals = watchSignals();
  try {
    await trainUntilDone(run, signals.received);
  } finally {
    signals.dispose();
  }
}

async function trainUntilDone(run: TrainingRun, interrupted: () => keyof typeof SIGNAL_EXIT | undefined): Promise<void> {
  const { model, manager, out } = run;
  let batches: TokenBatch[];
  try {
    batches = [...streamBatches(run.train, run.batchSize, run.steps)];
  } catch (error) {
    throw new UsageError(`the training text is too short: ${(error as Error).message}; lower --batch-size or --seq-len`);
  }
  const total = run.maxSteps ?? run.epochs * batches.length;
  let { epoch, batch, step } = run.cursor;
  const started = Date.now();
  let lossSum = 0;
  let lossCount = 0;
  const bar = (out as ProgressSink).isTTY ? new ProgressBar(out as ProgressSink) : undefined;
  const say = (line: string) => (bar ? bar.endEpoch(line) : out.write(`${line}\n`));
  // history.jsonl gets an entry per checkpoint; a resumed run drops those past its step.
  const history = await HistoryRecorder.start(manager.directory, step);
  const record = async (valLoss?: number) => {
    const entry = history.take({ step, epoch: batch === 0 ? epoch : epoch + 1, learningRate: run.stepOptions.learningRate, valLoss });
    if (entry !== undefined) await history.write(entry);
  };
  const save = async () => {
    const path = await manager.save(model, step, { vocabulary: run.vocab, dataCursor: { epoch, batch, step } });
    const valLoss = await validate(run);
    await record(valLoss);
    say(`checkpoint ${path}${validationNote(valLoss)}`);
  };
  while (step < total) {
    if (batch === 0) model.resetState();
    const result = await model.trainStep(batches[batch], run.stepOptions);
    step += 1;
    batch += 1;
    if (batch === batches.length) {
      batch = 0;
      epoch += 1;
    }
    lossSum += result.loss;
    lossCount += 1;
    history.addStep(result.loss, result.weightSum);
    const secondsPerBatch = (Date.now() - started) / 1000 / (step - run.cursor.step);
    // The epoch this step belonged to (the cursor has already moved past an epoch's last batch).
    const stepEpoch = batch === 0 ? epoch - 1 : epoch;
    bar?.update({
      epoch: stepEpoch,
      epochs: Math.ceil(total / batches.length),
      step: batch === 0 ? batches.length : batch,
      stepsPerEpoch: batches.length,
      loss: result.loss,
      secondsPerBatch,
      totalSteps: total,
      globalStep: step,
    });
    if (!bar && (step % run.logEvery === 0 || step === total)) {
      const seconds = (Date.now() - started) / 1000;
      const eta = formatDuration((total - step) * secondsPerBatch);
      out.write(`step ${step}/${total}  epoch ${stepEpoch + 1}  loss ${(lossSum / lossCount).toFixed(4)}  ${seconds.toFixed(1)} s  ETA ${eta}\n`);
      lossSum = 0;
      lossCount = 0;
    }
    if (manager.every > 0 && step % manager.every === 0 && step < total) await save();
    const signal = interrupted();
    if (signal !== undefined && step < total) {
      const path = await manager.save(model, step, { vocabulary: run.vocab, dataCursor: { epoch, batch, step } });
      await record();
      say(`interrupted at step ${step}; saved ${path}`);
      throw new Interrupted(SIGNAL_EXIT[signal]);
    }
  }
  await save();
}

// Validation loss over the held-out text: by default stateful, as the model is trained and
// sampled (each row a contiguous stream, the state carried from window to window); stateless
// restarts every window from a zero state. The training state is put back afterwards.
async function validate(run: TrainingRun): Promise<number | undefined> {
  if (run.validation === undefined) return undefined;
  const rows = Math.min(run.batchSize, Math.floor((run.validation.length - 1) / run.steps));
  if (rows < 1) return undefined;
  const saved = run.model.getState();
  try {
    const r = await evaluateData(run.model, [...streamBatches(run.validation, rows, run.steps)], { stateful: run.validationStateless !== true });
    return r.weightSum > 0 ? r.loss : undefined;
  } finally {
    if (saved.blocks.length > 0) run.model.setState(saved);
    else run.model.resetState();
  }
}

function validationNote(loss: number | undefined): string {
  return loss === undefined ? '' : `  validation loss ${loss.toFixed(4)}`;
}
