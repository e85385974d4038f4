// `fusedrnn info`: package version, the addon variant in use and why, its build flags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative, nativeStatus, packageRoot } from '../native.js';
import { helpText, parseArgs } from './args.js';

const SPECS = {};

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function infoCommand(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  if (argv.includes('--help')) {
    out.write(helpText('fusedrnn info', 'Prints the version, the backend in use (and why), the device and the build flags.', SPECS));
    return;
  }
  parseArgs(argv, SPECS, 'info');
  const status = nativeStatus();
  const build = loadNative().buildInfo() as unknown as Record<string, unknown>;
  const lines = [
    `fusedrnn ${packageVersion()} (node ${process.version}, ${process.platform}-${process.arch})`,
    `backend: ${status.variant} (requested ${status.requested})`,
    `addon: ${status.path}`,
  ];
  if (status.fallbackReason) lines.push(`cuda: not used: ${status.fallbackReason}`);
  const devices = (status.cudaProbe as { devices?: { name?: string }[] } | undefined)?.devices ?? [];
  lines.push(`device: ${devices.length > 0 ? devices.map((d) => d.name ?? 'cuda device').join(', ') : 'cpu'}`);
  lines.push(`build: ${Object.entries(build).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.write(lines.join('\n') + '\n');
}
