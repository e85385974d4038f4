// Statistics and reporting: median/min/max per (workload, peer), ratios to fusedrnn measured in
// the same run, and the markdown table. Pure functions of the collected results.

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

/**
 * One library's results for one workload over several interleaved rounds (each its own process)
 * as one entry: the samples pooled, the largest peak RSS, the notes of every round; a round that
 * failed is counted and named, and with no successful round the entry is the last failure.
 */
export function mergeRounds(rounds) {
  const ok = rounds.filter((r) => r.ok);
  if (ok.length === 0) return rounds[rounds.length - 1];
  const merged = { ...ok[ok.length - 1], samples: ok.flatMap((r) => r.samples), rounds: ok.length };
  merged.peakRssMB = Math.max(...ok.map((r) => r.peakRssMB ?? 0));
  merged.notes = [...new Set(ok.flatMap((r) => r.notes ?? []))];
  const failed = rounds.filter((r) => !r.ok);
  if (failed.length) merged.notes.push(`${failed.length} of ${rounds.length} rounds failed: ${failed[0].reason}`);
  return merged;
}

/**
 * A per-sequence peer (brain.js trains one sequence per call) is compared per batch: its median
 * times B. The ratio is peer / fusedrnn, so above 1 means fusedrnn is faster.
 */
export function comparable(result, workload) {
  return result.perSequence ? result.median * workload.batch : result.median;
}

// Why a peer's ratio is not printed: PyTorch on Debian's reference BLAS (its runner reports
// blas: 'reference') is ~25x slower than on OpenBLAS, so a ratio against it would flatter us.
export const REFERENCE_BLAS_REFUSAL = 'no ratio: PyTorch runs on the reference BLAS (install libopenblas0-openmp)';

export function addRatios(results, workloads, reference = 'fusedrnn cpu') {
  for (const r of results) {
    const ref = results.find((x) => x.workload === r.workload && x.peer === reference && x.ok);
    if (!r.ok || !ref || r.peer === reference) continue;
    if (r.blas === 'reference') {
      r.ratioRefused = REFERENCE_BLAS_REFUSAL;
      continue;
    }
    r.ratio = comparable(r, workloads[r.workload]) / comparable(ref, workloads[r.workload]);
  }
  return results;
}

function fmt(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US').replace(/,/g, ' ');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function ratioText(r, workload) {
  if (r.ratioRefused !== undefined) return r.ratioRefused;
  if (r.ratio === undefined) return r.peer === 'fusedrnn cpu' && r.ok ? '1 (reference)' : '';
  const per = r.perSequence ? ` (×${workload.batch} sequences)` : '';
  return `${r.ratio >= 10 ? r.ratio.toFixed(0) : r.ratio.toFixed(2)}×${per}`;
}

export function markdown(run, workloads) {
  const m = run.machine;
  const lines = [
    `# fusedrnn benchmark, ${run.date}${run.commit ? ` · commit ${run.commit}` : ''}${run.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB; Node ${m.node}; load average ${m.loadStart.join(' ')} at the start, ${m.loadEnd.join(' ')} at the end.`,
    `Method: ${run.plan.warmup} warm-up run, then timed runs per library and workload until there are ${run.plan.runs}${run.plan.minSeconds ? ` taking ${run.plan.minSeconds} s together (at most ${run.plan.maxRuns})` : ''}, each in its own process (peak RSS is that process's)${run.plan.rounds > 1 ? `, in ${run.plan.rounds} rounds that alternate the libraries (samples pooled: a machine that drifts affects every library alike)` : ''}; a run whose warm-up exceeded ${run.plan.budgetSeconds} s is reported with that one run${run.plan.timeoutSeconds ? `, one that did not finish within ${run.plan.timeoutSeconds} s under "Not measured"` : ''}. Ratio = library median / fusedrnn cpu median in this run: above 1, fusedrnn is faster.`,
  ];
  if (run.note) lines.push('', `Note: ${run.note}`);
  if (run.skipped.length) lines.push('', `Not run in this mode: ${run.skipped.join('; ')}.`);
  lines.push('', '| workload | library | median | min – max | runs | ratio to fusedrnn | peak RSS MB | threads | precision |', '|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const id of Object.keys(workloads)) {
    const w = workloads[id];
    for (const r of run.results.filter((x) => x.workload === id)) {
      if (!r.ok) continue;
      const unit = r.perSequence ? `${w.unit.replace('/step', '')} per sequence` : w.unit;
      const runs = `${r.runs}${r.warmupOnly ? ' (warm-up only)' : ''}`;
      lines.push(`| ${id} | ${r.peer} | ${fmt(r.median)} ${unit} | ${fmt(r.min)} – ${fmt(r.max)} | ${runs} | ${ratioText(r, w)} | ${fmt(r.peakRssMB)} | ${r.threads} | ${r.precision} |`);
    }
  }
  for (const r of run.results.filter((x) => x.ok && x.bound)) {
    const b = r.bound;
    lines.push('', `${r.workload} weight-streaming bound (${r.peer}): ${fmt(b.usPerChar)} µs/char = ${(b.weightBytes / 2 ** 20).toFixed(2)} MiB of weights at ${fmt(b.readGBs)} GB/s measured in this run (${b.how}).`);
  }
  const missing = run.results.filter((r) => !r.ok);
  if (missing.length) {
    lines.push('', '## Not measured', '');
    const byReason = new Map();
    for (const r of missing) {
      const key = `${r.peer}: ${r.reason}`;
      byReason.set(key, [...(byReason.get(key) ?? []), r.workload]);
    }
    for (const [key, ids] of byReason) lines.push(`- ${ids.join(', ')} ${key}`);
  }
  lines.push('', '## Versions and how each workload was expressed', '');
  const seen = new Set();
  for (const r of run.results.filter((x) => x.ok)) {
    const key = `${r.peer}: ${r.version}`;
    if (!seen.has(key)) {
      seen.add(key);
      lines.push(`- ${key}`);
    }
  }
  for (const r of run.results.filter((x) => x.ok && (x.how || x.notes?.length))) {
    lines.push(`- ${r.workload} ${r.peer}: ${[r.how, ...(r.notes ?? [])].filter(Boolean).join('; ')}`);
  }
  lines.push('', '## Workloads', '');
  for (const w of Object.values(workloads)) lines.push(`- ${w.id}: ${w.what}.`);
  return `${lines.join('\n')}\n`;
}

/** The reference each history cell sets beside fusedrnn on a CPU run. */
export const CPU_HISTORY_REFERENCE = 'pytorch cpu 2 thr';

/** fusedrnn's reduced-precision generation peers, shown beside the fp32 figure of W4. */
const REDUCED_PEERS = ['bf16', 'int8'].map((precision) => ({ precision, peer: `fusedrnn cpu ${precision}` }));

/**
 * One line of bench/results/history.md for a full CPU run: per workload, fusedrnn cpu's median /
 * PyTorch's (2 threads), '—' where one did not run; W4 adds the bf16 and int8 medians in brackets.
 */
export function historyLine(run, workloads, { commit, kind }) {
  const result = (id, peer) => run.results.find((r) => r.workload === id && r.peer === peer && r.ok);
  const reduced = (id) => REDUCED_PEERS.map(({ precision, peer }) => (result(id, peer) ? `${precision} ${fmt(result(id, peer).median)}` : ''))
    .filter(Boolean)
    .join(', ');
  const cell = (id) => [`fusedrnn cpu`, CPU_HISTORY_REFERENCE]
    .map((peer) => result(id, peer))
    .map((r) => (r ? `${fmt(r.median)}${r.blas === 'reference' ? ' (reference BLAS)' : ''}` : '—'))
    .join(' / ') + (reduced(id) ? ` (${reduced(id)})` : '');
  return `| ${run.date} | ${commit} | ${kind} | ${Object.keys(workloads).map(cell).join(' | ')} |\n`;
}
