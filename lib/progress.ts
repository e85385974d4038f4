// Training progress on a terminal: one redrawn bar on a TTY (epoch, step, loss, sec/batch, ETA),
// plain lines elsewhere (CI logs, pipes), so logs stay readable and terminals stay calm. The ETA
// is for the whole run (every remaining epoch), in the bar and the plain lines alike.
/** Where progress text goes: `process.stdout` by default, or any object with a `write` method. */
export interface ProgressSink {
  /** Receives a piece of progress text (a redraw on a TTY, whole lines elsewhere). */
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** One batch's progress, as {@link ProgressBar.update} takes it. */
export interface ProgressUpdate {
  /** 0-based, as EpochLog.epoch; shown 1-based ('epoch 1/3'). */
  epoch: number;
  epochs: number;
  step: number;
  /** Batches per epoch when known (a source with a length, or the previous epoch's count). */
  stepsPerEpoch?: number;
  loss: number;
  secondsPerBatch: number;
  /**
   * Steps in the whole run and steps done so far, when the caller knows them (a run capped at a
   * step count); otherwise the ETA counts the remaining epochs at stepsPerEpoch each.
   */
  totalSteps?: number;
  globalStep?: number;
}

/** Training progress: one redrawn bar on a TTY (epoch, step, loss, seconds per batch, ETA), a plain line every `lineEvery` batches elsewhere. */
export class ProgressBar {
  private lastDraw = 0;
  private lastLine = 0;

  /** lineEvery: batches between plain lines when the sink is not a TTY; now: the clock (ms) that throttles redraws. */
  constructor(
    private readonly sink: ProgressSink = process.stdout,
    private readonly lineEvery = 50,
    private readonly now: () => number = Date.now,
  ) {}

  /** Shows `u`: redraws the bar (at most 10 times a second, always at an epoch's last step) or writes a plain line every `lineEvery` steps. */
  update(u: ProgressUpdate): void {
    if (this.sink.isTTY) {
      const now = this.now();
      if (now - this.lastDraw < 100 && u.step !== u.stepsPerEpoch) return; // at most 10 redraws a second
      this.lastDraw = now;
      this.sink.write(`\r${this.barLine(u)}\x1b[K`);
    } else if (u.step - this.lastLine >= this.lineEvery) {
      this.lastLine = u.step;
      this.sink.write(`${formatStatus(u)}\n`);
    }
  }

  /** Ends the epoch's line with its summary (e.g. validation loss). */
  endEpoch(summary: string): void {
    this.lastLine = 0;
    this.sink.write(`${this.sink.isTTY ? '\r\x1b[K' : ''}${summary}\n`);
  }

  private barLine(u: ProgressUpdate): string {
    const status = formatStatus(u);
    if (!u.stepsPerEpoch) return status;
    const width = Math.max(10, Math.min(30, (this.sink.columns ?? 80) - status.length - 3));
    const filled = Math.round((width * Math.min(u.step, u.stepsPerEpoch)) / u.stepsPerEpoch);
    return `[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${status}`;
  }
}

/** One status line: 'epoch 1/3 step 5/40 loss 2.3026 0.120 s/batch ETA 14s' (the ETA when the run's length is known). */
export function formatStatus(u: ProgressUpdate): string {
  const of = u.stepsPerEpoch ? `/${u.stepsPerEpoch}` : '';
  let s = `epoch ${u.epoch + 1}/${u.epochs} step ${u.step}${of} loss ${u.loss.toFixed(4)} ${u.secondsPerBatch.toFixed(3)} s/batch`;
  const left = remainingSteps(u);
  if (left !== undefined) s += ` ETA ${formatDuration(left * u.secondsPerBatch)}`;
  return s;
}

/** @returns the steps left in the whole run, or undefined when its length is not known yet. */
export function remainingSteps(u: ProgressUpdate): number | undefined {
  if (u.totalSteps !== undefined && u.globalStep !== undefined) return Math.max(0, u.totalSteps - u.globalStep);
  if (!u.stepsPerEpoch) return undefined;
  return Math.max(0, u.stepsPerEpoch - u.step) + Math.max(0, u.epochs - u.epoch - 1) * u.stepsPerEpoch;
}

/** @returns `seconds` as a short human duration, e.g. `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
