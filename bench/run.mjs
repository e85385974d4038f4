#!/usr/bin/env node
// `npm run bench [-- --quick] [--workloads W1,W4] [--peers tfjs,pytorch] [--rounds N] [--note "text"] [--no-build]`
// Runs W1-W5 (workloads.mjs) for fusedrnn and every peer that is installed (peers.mjs), each
// (peer, workload) in its own process, then writes results/latest-cpu-<N>core.json and .md (a full
// run; others: results/partial-cpu.*) and prints the table last. Peers live in bench/package.json,
// installed here on first use, never in the root package (CI installs the root).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cores, peerList, pythonSetup } from './peers.mjs';
import { addRatios, historyLine, markdown, mergeRounds, summarize } from './report.mjs';
import { WORKLOADS, runPlan } from './workloads.mjs';

const benchDir = new URL('.', import.meta.url).pathname;
const root = join(benchDir, '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workloads: { type: 'string' },
    peers: { type: 'string' },
    note: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    render: { type: 'string' },
    build: { type: 'boolean', default: true },
  },
  allowNegative: true,
});

const log = (text) => process.stderr.write(`${text}\n`);

function sh(command, commandArgs, options = {}) {
  log(`$ ${command} ${commandArgs.join(' ')}`);
  const r = spawnSync(command, commandArgs, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed (${r.status ?? r.signal})`);
}

function prepare() {
  if (!existsSync(join(benchDir, 'node_modules'))) {
    // onnxruntime-node's postinstall would try to download a CUDA provider; its CPU provider ships in the tarball.
    sh('npm', ['ci', '--prefix', benchDir, '--no-audit', '--no-fund'], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  }
  // fusedrnn is measured through dist/ and build/: bring both up to date with the sources (both
  // builds are incremental), so a run after a merge measures the merged code.
  if (args.build) {
    sh('npx', ['cmake-js', 'build'], { cwd: root });
    sh('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
  }
}

/** Runs one job in a child; its last stdout line is the result. Never throws. */
function runJob(peer, job, env, timeoutSeconds) {
  const r = spawnSync(peer.command, [...peer.args, JSON.stringify(job)], {
    cwd: root, env, encoding: 'utf8', timeout: timeoutSeconds * 1000, maxBuffer: 64 << 20,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    const why = r.error?.code === 'ETIMEDOUT' ? `did not finish in ${timeoutSeconds} s`
      : r.error?.code === 'ENOENT' ? `${peer.command} not found${peer.python ? ' (install python3-torch, or set FUSEDRNN_BENCH_PYTHON)' : ''}`
      : r.error ? r.error.message : `exited with ${r.status ?? r.signal}`;
    // A killed child's last stderr lines are whatever it logged before, not a reason.
    const tail = r.error?.code === 'ETIMEDOUT' ? '' : (r.stderr ?? '').trim().split('\n').slice(-2).join(' | ').slice(0, 300);
    return { ok: false, reason: `${why}${tail ? `: ${tail}` : ''}` };
  }
}

/** Exports the W4 one-step model for onnxruntime-node once per run (needs PyTorch). */
function exportOnnx(plan, setup) {
  const path = join(benchDir, '.cache', 'w4-step.onnx');
  mkdirSync(join(benchDir, '.cache'), { recursive: true });
  const job = { workload: WORKLOADS.W4, plan, options: { threads: 1, exportOnnx: path } };
  const r = runJob({ command: setup.python, args: [join(benchDir, 'runners', 'pytorch.py')], python: true }, job, setup.env, 300);
  return r.ok ? { modelPath: path, exportedBy: `exported by ${r.version} with torch.onnx.export` } : { exportReason: `the PyTorch export failed: ${r.reason}` };
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGB: Math.round(freemem() / 2 ** 30),
    node: process.versions.node,
    loadStart: loadavg().map((x) => x.toFixed(2)),
  };
}

/** The measured code's commit (short hash, '+dirty' with uncommitted changes), or 'unknown'. */
function gitCommit() {
  const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+dirty' : ''}`;
}

function writeAtomically(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** --render results/x.json: rewrites x.md from a saved run (after a change to the table's format). */
function render(path) {
  const run = JSON.parse(readFileSync(path, 'utf8'));
  const table = markdown(run, WORKLOADS);
  writeAtomically(path.replace(/\.json$/, '.md'), table);
  process.stdout.write(table);
}

function main() {
  if (args.render) return render(args.render);
  prepare();
  const rounds = Number(args.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new RangeError(`--rounds must be an integer in [1, 20], got ${args.rounds}`);
  const plan = { ...runPlan(args.quick), rounds };
  const wanted = args.workloads ? args.workloads.split(',') : plan.workloads;
  const unknown = wanted.filter((id) => !WORKLOADS[id]);
  if (unknown.length) throw new RangeError(`--workloads: unknown ${unknown.join(', ')} (expected some of ${Object.keys(WORKLOADS).join(', ')})`);
  const peerFilter = args.peers?.split(',');
  const peers = peerList().filter((p) => !peerFilter || p.name.startsWith('fusedrnn cpu') || peerFilter.some((f) => p.name.includes(f)));
  // A library that cannot finish one warm-up and a timed run in this time is reported as such.
  const timeoutSeconds = args.quick ? 60 : 300;
  const setup = pythonSetup();
  const run = {
    date: new Date().toISOString().slice(0, 10),
    selection: { workloads: wanted, peers: peers.map((p) => p.name) },
    quick: args.quick,
    note: args.note,
    machine: machine(),
    plan: { ...plan, timeoutSeconds },
    python: setup.description,
    skipped: Object.keys(WORKLOADS).filter((id) => !wanted.includes(id)).map((id) => (args.quick && id === 'W2' ? 'W2 (--quick skips it: minutes per step for tfjs)' : id)),
    results: [],
  };
  if (args.quick && wanted.includes('W4')) run.skipped.push(`W4 draws ${plan.generateChars} characters instead of 500`);
  const onnx = peers.some((p) => p.needsOnnx) && wanted.includes('W4') ? exportOnnx(plan, setup) : {};
  for (const id of wanted) {
    const measured = peers.filter((p) => p.workloads.includes(id));
    // Rounds alternate the libraries, so a machine that speeds up or slows down mid-run shifts
    // every library's samples alike instead of one library's.
    const byPeer = new Map(measured.map((p) => [p.name, []]));
    const started = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const peer of measured) {
        // Not repeated: a library that could not run in round 1 (not installed, timed out) or
        // whose warm-up alone overran the budget (tfjs cpu on W2: minutes per step).
        const first = byPeer.get(peer.name)[0];
        if (round > 0 && (!first.ok || first.warmupOnly)) continue;
        const options = { ...peer.options, ...(peer.needsOnnx ? onnx : {}) };
        if (!started.has(peer.name)) started.set(peer.name, Date.now());
        byPeer.get(peer.name).push(runJob(peer, { workload: WORKLOADS[id], plan, options }, peer.python ? setup.env : process.env, timeoutSeconds));
      }
    }
    for (const peer of measured) {
      const r = mergeRounds(byPeer.get(peer.name));
      const entry = { workload: id, peer: peer.name, unit: WORKLOADS[id].unit, ...r };
      if (r.ok) Object.assign(entry, summarize(r.samples));
      if (peer.python && r.ok) entry.version += `; ${setup.description}`;
      run.results.push(entry);
      const seconds = ((Date.now() - started.get(peer.name)) / 1000).toFixed(1);
      log(`${id} ${peer.name}: ${r.ok ? `median ${entry.median.toFixed(2)} ${entry.unit}` : `unavailable (${r.reason})`} [${seconds} s since its first round]`);
    }
  }
  run.machine.loadEnd = loadavg().map((x) => x.toFixed(2));
  addRatios(run.results, WORKLOADS);
  const table = markdown(run, WORKLOADS);
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  // bench/results scheme (docs/contributing.md): a full run (every workload, not --quick; --peers
  // may leave out libraries, the record names those that ran) replaces latest-<kind>.md/.json and
  // adds a line to history.md; any other run goes to partial-cpu.md/.json, replaced, no history.
  const full = !args.quick && !args.workloads;
  const kind = `cpu-${run.machine.cores}core`;
  run.commit = gitCommit();
  const base = join(dir, full ? `latest-${kind}` : 'partial-cpu');
  writeAtomically(`${base}.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeAtomically(`${base}.md`, table);
  if (full) appendFileSync(join(dir, 'history.md'), historyLine(run, WORKLOADS, { commit: run.commit, kind }));
  log(`wrote ${base}.json and ${base}.md${full ? ' and a line in history.md' : ''}\n`);
  process.stdout.write(table);
}

main();
