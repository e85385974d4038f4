// A small flag parser for the CLI: `--name value`, `--name=value`, boolean `--name`, repeatable
// lists. Every mistake is a UsageError with one line that says what was expected.
import { closest } from '../validate.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagKind = 'int' | 'number' | 'string' | 'boolean' | 'list';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: number | string | boolean;
  min?: number;
  max?: number;
  /** kind 'string' only: the accepted values (listed in --help, checked with a 'did you mean'). */
  choices?: readonly string[];
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, number | string | boolean | string[] | undefined>;

export function parseArgs(argv: readonly string[], specs: FlagSpecs, command: string): { flags: FlagValues; positionals: string[] } {
  const flags: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = spec.kind === 'list' ? [] : spec.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) {
      const near = closest(name, [...Object.keys(specs), 'help']);
      const hint = near === undefined ? '' : `did you mean --${near}? `;
      throw new UsageError(`unknown option --${name} for '${command}' (${hint}see fusedrnn ${command} --help)`);
    }
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new UsageError(`--${name} needs a value`);
    flags[name] = convert(name, spec, value, flags[name]);
  }
  return { flags, positionals };
}

function convert(name: string, spec: FlagSpec, value: string, previous: FlagValues[string]): FlagValues[string] {
  if (spec.kind === 'string') {
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      const near = closest(value, spec.choices);
      throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(value)}${near ? ` (did you mean ${near}?)` : ''}`);
    }
    return value;
  }
  if (spec.kind === 'list') return [...((previous as string[]) ?? []), value];
  const x = value.trim() === '' ? NaN : Number(value);
  const lo = spec.min ?? -Infinity;
  const hi = spec.max ?? Infinity;
  const range = `${Number.isFinite(lo) ? lo : '-inf'}..${Number.isFinite(hi) ? hi : 'inf'}`;
  if (spec.kind === 'int' && (!Number.isSafeInteger(x) || x < lo || x > hi)) {
    throw new UsageError(`--${name} must be an integer in ${range}, got ${JSON.stringify(value)}`);
  }
  if (!Number.isFinite(x) || x < lo || x > hi) throw new UsageError(`--${name} must be a number in ${range}, got ${JSON.stringify(value)}`);
  return x;
}

export function helpText(usage: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const kind = s.choices?.join('|') ?? (s.kind === 'list' ? 'text, repeatable' : s.kind);
    const left = `  --${name}${s.kind === 'boolean' ? '' : ` <${kind}>`}`;
    const def = s.default === undefined ? '' : ` (default ${JSON.stringify(s.default)})`;
    return `${left.padEnd(34)} ${s.help}${def}`;
  });
  return [`usage: ${usage}`, '', summary, '', 'options:', ...rows, `  ${'--help'.padEnd(32)} this text`, ''].join('\n');
}
