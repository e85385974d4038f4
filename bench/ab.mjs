// Interleaved A/B of two built checkouts of fusedrnn (CPU, each with build/ and dist/), for a
// refactor that must not change speed:
//   node bench/ab.mjs <oldRoot> <newRoot> [pairs=5]      (AB_WORKLOADS=W1,W3,W5 by default)
// Each pair runs old and new (the order alternating per pair), every workload in a process of its
// own; it prints each process's median and, per workload, the median over pairs of each side with
// min-max. Run it once with the same root twice (an A/A run) to see what this machine can resolve.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
const [oldRoot, newRoot, pairsArg] = process.argv.slice(2);
if (!oldRoot || !newRoot) {
  console.error('usage: node bench/ab.mjs <oldRoot> <newRoot> [pairs]');
  process.exit(2);
}
const pairs = Number(pairsArg ?? 5);
const { WORKLOADS } = await import(pathToFileURL(`${newRoot}/bench/workloads.mjs`));
const workloads = (process.env.AB_WORKLOADS ?? 'W1,W3,W5').split(',');
const plan = { warmup: 1, runs: 10, budgetSeconds: 30, workloads, generateChars: 100 };
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const results = { old: {}, new: {} };
for (let p = 0; p < pairs; p++) {
  const order = p % 2 ? ['new', 'old'] : ['old', 'new'];
  for (const id of plan.workloads) {
    for (const side of order) {
      const root = side === 'old' ? oldRoot : newRoot;
      const job = { workload: WORKLOADS[id], plan, options: {} };
      const r = spawnSync('node', [`${root}/bench/runners/fusedrnn.mjs`, JSON.stringify(job)], { cwd: root, encoding: 'utf8' });
      const line = JSON.parse(r.stdout.trim().split('\n').pop());
      if (!line.ok) throw new Error(`${side} ${id}: ${line.reason}`);
      (results[side][id] ??= []).push(med(line.samples));
      console.log(`pair ${p + 1} ${id} ${side}: ${med(line.samples).toFixed(3)} ms`);
    }
  }
}
for (const id of plan.workloads) {
  const o = med(results.old[id]), n = med(results.new[id]);
  console.log(`${id}: old ${o.toFixed(3)} ms [${Math.min(...results.old[id]).toFixed(2)}-${Math.max(...results.old[id]).toFixed(2)}], new ${n.toFixed(3)} ms [${Math.min(...results.new[id]).toFixed(2)}-${Math.max(...results.new[id]).toFixed(2)}], new/old ${(n / o).toFixed(3)}`);
}
