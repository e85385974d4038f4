// One table per call: each option's check and default. The keys a call accepts, the defaults it
// fills in and the messages it throws all come from its table, so none is written twice.
import { checkKeys, checkObject } from '../validate.js';

/**
 * One option of a call. `check` returns the value (narrowed) or throws a TypeError/RangeError
 * naming `where` (e.g. `options.beta1`); `context` is what a check may depend on (the model's
 * dtype). An option with no default is left out of the result when the caller leaves it out.
 */
export interface OptionSpec<T, C = void> {
  readonly check: (value: unknown, where: string, context: C) => T;
  readonly default?: T;
  /** A default computed per call (a fresh random seed), where a constant will not do. */
  readonly defaultFrom?: (context: C) => T;
  /** No default and not optional: the check runs on a missing value too (and names it). */
  readonly required?: true;
}

export type OptionTable<C = void> = { readonly [key: string]: OptionSpec<unknown, C> };

// The value is what the check returns (a default passes through the check too).
type ValueOf<S> = S extends { check: (...args: never[]) => infer T } ? T : never;
type HasDefault<S> = S extends { default: unknown } | { defaultFrom: unknown } | { required: true } ? true : false;

/** What readOptions returns: every defaulted or required option present, the others optional. */
export type Filled<Table> = { -readonly [K in keyof Table as HasDefault<Table[K]> extends true ? K : never]: ValueOf<Table[K]> } & {
  -readonly [K in keyof Table as HasDefault<Table[K]> extends true ? never : K]?: ValueOf<Table[K]>;
};

/** The keys a call accepts, in the table's order (the order "unknown option" messages list them in). */
export function keysOf(table: object): string[] {
  return Object.keys(table);
}

/**
 * Checks `options` against `table`: an object (`path` in the message) with only the table's keys
 * (`name` in the message: 'train options: unknown option ...'), each value checked, in table
 * order, as `${path}.${key}`, and defaults filled in.
 */
export function readOptions<Table extends OptionTable<C>, C = void>(
  table: Table,
  options: unknown,
  { name, path = 'options' }: { name: string; path?: string },
  context: C,
): Filled<Table> {
  const given = checkObject(options, path);
  checkKeys(given, keysOf(table), name);
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const where = `${path}.${key}`;
    if (given[key] !== undefined || spec.required) out[key] = spec.check(given[key], where, context);
    else if (spec.defaultFrom !== undefined) out[key] = spec.check(spec.defaultFrom(context), where, context);
    else if ('default' in spec) out[key] = spec.check(spec.default, where, context);
  }
  return out as Filled<Table>;
}

/** The option's default (for callers that fill one value themselves, e.g. fit's learning-rate schedule). */
export function defaultOf<T>(spec: OptionSpec<T, never>): T {
  if (!('default' in spec)) throw new Error('internal: this option has no constant default');
  return spec.default as T;
}
