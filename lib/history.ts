// Training history as JSON lines in the checkpoint directory (`history.jsonl`), one entry per
// record point, so a run's curves survive the process and can be plotted later (plotHistory,
// `fusedrnn plot`). Appending keeps a long run's cost per entry constant; a crash can at worst
// tear the last line, which readHistory skips. On (re)starting at step S, entries after S are
// dropped by an atomic rewrite: they belong to a run that no checkpoint continues.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './checkpoint/atomic.js';

/** The history file's name inside a checkpoint directory. */
export const HISTORY_FILE = 'history.jsonl';

/** One line of history.jsonl. */
export interface HistoryEntry {
  /** Optimizer steps taken by the model (its Adam step: continues across resumes). */
  step: number;
  /** 1-based epoch the step belongs to (the number the progress output shows). */
  epoch: number;
  /** Mean training loss since the previous entry, each step weighted by its rows (as fit's EpochLog). */
  loss: number;
  /** Validation loss measured at this step, when there was one. */
  valLoss?: number;
  learningRate: number;
  /** Training steps per second since the previous entry (wall clock, saves included). */
  stepsPerSecond: number;
}

/** The history file of a checkpoint directory. */
export function historyPath(dir: string): string {
  return join(dir, HISTORY_FILE);
}

/**
 * The entries of a history file (or of `history.jsonl` in a directory, when `path` is one).
 * @returns the entries in file order; an unfinished last line (a crash mid-append) is skipped.
 * @throws TypeError for a non-string path; the Promise rejects when the file cannot be read or a
 *   complete line is not a history entry (the error names the file and line).
 */
export async function readHistory(path: string): Promise<HistoryEntry[]> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
    return readHistory(historyPath(path));
  }
  return parseHistory(text, path);
}

/**
 * Parses history.jsonl text; `where` names the file in errors.
 * @returns the entries of the complete lines (a torn last line is skipped).
 * @throws SyntaxError naming `where` and the line when a complete line is not a history entry.
 */
export function parseHistory(text: string, where = HISTORY_FILE): HistoryEntry[] {
  // Every complete line ends with a newline, so the last piece is either '' or a torn append.
  const complete = text.split('\n').slice(0, -1);
  return complete.flatMap((line, i) => (line.trim() === '' ? [] : [parseEntry(line, `${where}:${i + 1}`)]));
}

function parseEntry(line: string, where: string): HistoryEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new SyntaxError(`${where} is not JSON`);
  }
  const e = value as Record<string, unknown>;
  if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.step) || !Number.isSafeInteger(e.epoch)) {
    throw new SyntaxError(`${where} is not a history entry (needs integer step and epoch)`);
  }
  const num = (x: unknown) => (typeof x === 'number' ? x : NaN);  // JSON writes NaN/Infinity as null
  const entry: HistoryEntry = {
    step: e.step as number,
    epoch: e.epoch as number,
    loss: num(e.loss),
    learningRate: num(e.learningRate),
    stepsPerSecond: num(e.stepsPerSecond),
  };
  if (e.valLoss !== undefined) entry.valLoss = num(e.valLoss);
  return entry;
}

/**
 * Accumulates training losses between entries and appends entries to `<dir>/history.jsonl`.
 * Create it with HistoryRecorder.start, which drops the entries after the starting step.
 */
export class HistoryRecorder {
  private lossSum = 0;
  private weight = 0;
  private steps = 0;
  private since = performance.now();

  private constructor(readonly dir: string) {}

  /**
   * Starts recording a run that begins at `step` (0 for a fresh model, the checkpoint's step when
   * resuming): entries after it are removed, atomically.
   * @throws the Promise rejects when the directory or the file cannot be read or written.
   */
  static async start(dir: string, step: number): Promise<HistoryRecorder> {
    await mkdir(dir, { recursive: true });
    let kept: HistoryEntry[] | undefined;
    try {
      const entries = await readHistory(historyPath(dir));
      if (entries.some((e) => e.step > step)) kept = entries.filter((e) => e.step <= step);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (kept !== undefined) await writeFileAtomic(historyPath(dir), Buffer.from(kept.map(formatEntry).join('')));
    return new HistoryRecorder(dir);
  }

  /** One training step's loss and the weight of its rows (StepResult.weightSum). */
  addStep(loss: number, weight: number): void {
    this.lossSum += loss * weight;
    this.weight += weight;
    this.steps += 1;
  }

  /**
   * The entry for the steps since the last one (loss mean and rate filled in); it is not written.
   * @returns undefined when no step was added since the last entry.
   */
  take(at: { step: number; epoch: number; learningRate: number; valLoss?: number }): HistoryEntry | undefined {
    if (this.steps === 0) return undefined;
    const now = performance.now();
    const entry: HistoryEntry = {
      step: at.step,
      epoch: at.epoch,
      loss: this.weight > 0 ? this.lossSum / this.weight : NaN,
      ...(at.valLoss === undefined ? {} : { valLoss: at.valLoss }),
      learningRate: at.learningRate,
      stepsPerSecond: this.steps / Math.max((now - this.since) / 1000, 1e-9),
    };
    this.lossSum = 0;
    this.weight = 0;
    this.steps = 0;
    this.since = now;
    return entry;
  }

  /** Appends an entry as one line. */
  async write(entry: HistoryEntry): Promise<void> {
    await appendFile(historyPath(this.dir), formatEntry(entry));
  }
}

function formatEntry(entry: HistoryEntry): string {
  return `${JSON.stringify(entry)}\n`;
}
