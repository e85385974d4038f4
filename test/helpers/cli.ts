// Runs the compiled `fusedrnn` command (dist/cli/main.js, as npm's bin runs it) and returns its
// exit code and output instead of throwing on a non-zero exit.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './numeric.js';

export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

export async function runCli(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
