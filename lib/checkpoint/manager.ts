// Checkpoints in one directory: `<prefix>-<step, 8 digits>.safetensors`. Saves every N steps (and
// whenever asked, e.g. at the end), keeps the newest K, finds the latest to resume from.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../model.js';
import { checkInt, checkKeys, checkObject } from '../validate.js';
import { TEMP_MARKER } from './atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { Checkpoint, Placement, SaveOptions } from './checkpoint.js';

/** Where a {@link CheckpointManager} saves, how often and how many it keeps. */
export interface CheckpointManagerOptions {
  directory: string;
  /** Save when the step is a multiple of this (0: only explicit save() calls). Default 0. */
  every?: number;
  /** Keep this many newest checkpoints, delete older ones (default 5; 0 keeps all). */
  maxToKeep?: number;
  /** File name prefix (default 'ckpt'). */
  prefix?: string;
}

/** A checkpoint file in a manager's directory and the step it was saved at. */
export interface CheckpointEntry {
  step: number;
  path: string;
}

/**
 * Checkpoints in one directory, named `<prefix>-<step, 8 digits>.safetensors`: saves every N steps or when asked,
 * keeps the newest K, and finds the latest to resume from.
 */
export class CheckpointManager {
  readonly directory: string;
  readonly every: number;
  readonly maxToKeep: number;
  readonly prefix: string;
  private readonly pattern: RegExp;

  /** @throws TypeError or RangeError when an option is missing, unknown or out of range. */
  constructor(options: CheckpointManagerOptions) {
    checkObject(options, 'options');
    checkKeys(options, ['directory', 'every', 'maxToKeep', 'prefix'], 'checkpoint manager options');
    if (typeof options.directory !== 'string' || options.directory === '') {
      throw new TypeError('options.directory must be a non-empty string');
    }
    this.directory = options.directory;
    this.every = checkInt(options.every ?? 0, 'options.every', 0);
    this.maxToKeep = checkInt(options.maxToKeep ?? 5, 'options.maxToKeep', 0);
    this.prefix = options.prefix ?? 'ckpt';
    if (!/^[\w.-]+$/.test(this.prefix)) throw new TypeError('options.prefix must be letters, digits, ".", "_" or "-"');
    this.pattern = new RegExp(`^${this.prefix.replace(/\./g, '\\.')}-(\\d+)\\.safetensors$`);
  }

  /** @returns the path the checkpoint of `step` is (or would be) saved at. */
  pathFor(step: number): string {
    return join(this.directory, `${this.prefix}-${String(step).padStart(8, '0')}.safetensors`);
  }

  /** Saves when `step` is a multiple of `every`; returns the path written, if any. */
  async maybeSave(model: Model, step: number, options: SaveOptions = {}): Promise<string | undefined> {
    checkInt(step, 'step', 0);
    if (this.every === 0 || step === 0 || step % this.every !== 0) return undefined;
    return this.save(model, step, options);
  }

  /** Saves at `step` (atomically), then deletes all but the newest `maxToKeep`. */
  async save(model: Model, step: number, options: SaveOptions = {}): Promise<string> {
    checkInt(step, 'step', 0);
    await mkdir(this.directory, { recursive: true });
    const path = this.pathFor(step);
    await saveCheckpoint(path, model, options);
    await this.sweepTornWrites();
    if (this.maxToKeep > 0) {
      const old = (await this.list()).slice(0, -this.maxToKeep);
      await Promise.all(old.map((e) => rm(e.path, { force: true })));
    }
    return path;
  }

  /** The directory's checkpoints, oldest first (temp files of unfinished saves are not listed). */
  async list(): Promise<CheckpointEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => ({ name, match: this.pattern.exec(name) }))
      .filter((x) => x.match !== null)
      .map((x) => ({ step: Number(x.match![1]), path: join(this.directory, x.name) }))
      .sort((a, b) => a.step - b.step);
  }

  // Temp files of saves whose process died mid-write (its pid is in the name); a live writer's
  // temp file is left alone.
  private async sweepTornWrites(): Promise<void> {
    const temp = new RegExp(`^\\.${this.prefix.replace(/\./g, '\\.')}-\\d+\\.safetensors${TEMP_MARKER.replace(/\./g, '\\.')}(\\d+)-`);
    for (const name of await readdir(this.directory)) {
      const pid = Number(temp.exec(name)?.[1] ?? NaN);
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) await rm(join(this.directory, name), { force: true });
    }
  }

  /** @returns the newest checkpoint in the directory, or `undefined` when there is none. */
  async latest(): Promise<CheckpointEntry | undefined> {
    const all = await this.list();
    return all[all.length - 1];
  }

  /** Loads the newest checkpoint, or undefined when the directory has none. */
  async restore(placement: Placement = {}): Promise<Checkpoint | undefined> {
    const entry = await this.latest();
    return entry === undefined ? undefined : loadCheckpoint(entry.path, placement);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
