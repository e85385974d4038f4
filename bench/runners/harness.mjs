// The runner side of the protocol: each runner is a child process given one JSON job on argv
// ({ workload, plan, options }) that prints one JSON line (result or reason) and exits. One process
// per (peer, workload) keeps peak RSS per workload and isolates a peer that crashes.
import { performance } from 'node:perf_hooks';

export function readJob() {
  return JSON.parse(process.argv[2]);
}

/**
 * One warm-up, then timed runs of `once` (async, returns when the work is finished) until there
 * are plan.runs of them taking plan.minSeconds together (at most plan.maxRuns; workloads.mjs's
 * runPlan). `scale` turns one run's milliseconds into the workload's unit (e.g. µs per character).
 * Past plan.budgetSeconds after the warm-up, stops and reports what it has (flagged if short).
 */
export async function timeRuns(once, plan, scale = (ms) => ms) {
  const samples = [];
  const notes = [];
  const t0 = performance.now();
  await once();
  const warmupMs = performance.now() - t0;
  if (warmupMs / 1000 > plan.budgetSeconds) {
    notes.push(`one run only (the warm-up, ${(warmupMs / 1000).toFixed(1)} s, exceeded the ${plan.budgetSeconds} s budget)`);
    return { samples: [scale(warmupMs)], notes, warmupOnly: true };
  }
  const start = performance.now();
  for (;;) {
    const t = performance.now();
    await once();
    samples.push(scale(performance.now() - t));
    const elapsed = (performance.now() - start) / 1000;
    if (samples.length >= plan.runs && (elapsed >= (plan.minSeconds ?? 0) || samples.length >= (plan.maxRuns ?? Infinity))) break;
    if (elapsed > plan.budgetSeconds) {
      if (samples.length < plan.runs) notes.push(`${samples.length} timed runs (stopped at the ${plan.budgetSeconds} s budget)`);
      break;
    }
  }
  return { samples, notes };
}

/** Prints the result line and exits; peak RSS is the process's own maximum resident set. */
export function report(result) {
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ok: true, peakRssMB, ...result })}\n`);
  process.exit(0);
}

export function unavailable(reason) {
  process.stdout.write(`${JSON.stringify({ ok: false, reason })}\n`);
  process.exit(0);
}

/** Runs main(job); any exception becomes an 'unavailable' line with its message, never a crash. */
export function runMain(main) {
  main(readJob()).catch((err) => unavailable(`failed: ${String(err?.stack ?? err).split('\n').slice(0, 3).join(' | ')}`));
}
