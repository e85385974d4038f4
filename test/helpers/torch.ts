// Finding a Python that imports torch, for the PyTorch interop tests (test/interop/torch_interop.py).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './numeric.js';

export const torchScript = join(repoRoot, 'test', 'interop', 'torch_interop.py');

/** The first interpreter that imports torch: $FUSEDRNN_PYTHON, Debian's /usr/bin/python3, then PATH. */
export function findTorchPython(): { python?: string; reason: string } {
  const tried: string[] = [];
  for (const python of [process.env.FUSEDRNN_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
      return { python, reason: '' };
    } catch {
      tried.push(python);
    }
  }
  return { reason: `no Python that imports torch (tried ${tried.join(', ')}; apt-get install python3-torch)` };
}

/** Runs the jobs in one torch process (importing torch costs seconds) and returns their results. */
export function runTorchJobs<T>(python: string, jobsPath: string): T[] {
  return JSON.parse(execFileSync(python, [torchScript, jobsPath], { encoding: 'utf8', timeout: 300_000 }));
}
