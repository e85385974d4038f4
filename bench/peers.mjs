// The peers: which runner measures which workloads, how its process is started, and the
// environment PyTorch needs (../shared/BENCHMARKS.md: Debian's python3-torch under /usr/bin/python3,
// OpenBLAS's OpenMP build selected per process, AVX-512 kernels forced where the CPU has them).
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const here = new URL('.', import.meta.url).pathname;
export const cores = cpus().length;
const node = (runner, options = {}) => ({ command: process.execPath, args: [`${here}runners/${runner}`], options });

const PYTHON = process.env.FUSEDRNN_BENCH_PYTHON || '/usr/bin/python3';
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/** The environment PyTorch runs under, and a one-line description for the report. */
export function pythonSetup() {
  const env = { ...process.env };
  const notes = [];
  if (existsSync(`${OPENBLAS_OPENMP}/libblas.so.3`)) {
    env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    notes.push(`LD_LIBRARY_PATH=${OPENBLAS_OPENMP}`);
  } else {
    notes.push('libopenblas0-openmp not installed: torch uses whatever libblas.so.3 resolves to');
  }
  // OpenBLAS 0.3.21 does not recognise Zen 5 and would pick its AVX2 kernels; only force
  // SkylakeX where AVX-512 exists, or it would die on an illegal instruction.
  const avx512 = existsSync('/proc/cpuinfo') && / avx512f /.test(readFileSync('/proc/cpuinfo', 'utf8'));
  if (process.env.OPENBLAS_CORETYPE) notes.push(`OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} (from the caller)`);
  else if (avx512) {
    env.OPENBLAS_CORETYPE = 'SkylakeX';
    notes.push('OPENBLAS_CORETYPE=SkylakeX');
  }
  return { python: PYTHON, env, description: `${PYTHON}, ${notes.join(', ')}` };
}

const python = (options) => ({ command: PYTHON, args: [`${here}runners/pytorch.py`], options, python: true });

/** Every peer: name (as reported), the workloads it runs, and its process. */
export function peerList() {
  const list = [
    { name: 'fusedrnn cpu', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('fusedrnn.mjs', { backend: 'cpu' }) },
    // Generation with `precision: 'bf16'` and 'int8': stated precision modes, reported beside the fp32 row.
    { name: 'fusedrnn cpu bf16', workloads: ['W4'], ...node('fusedrnn.mjs', { backend: 'cpu', precision: 'bf16' }) },
    { name: 'fusedrnn cpu int8', workloads: ['W4'], ...node('fusedrnn.mjs', { backend: 'cpu', precision: 'int8' }) },
    { name: 'fusedrnn cuda', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('fusedrnn.mjs', { backend: 'cuda' }) },
    { name: `pytorch cpu ${cores} thr`, workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...python({ threads: cores }) },
  ];
  // Batch-1 generation and the tiny W5 model are fastest on one thread (BENCHMARKS.md); the issue
  // compares against PyTorch's best thread setting, so both are measured.
  if (cores > 1) list.push({ name: 'pytorch cpu 1 thr', workloads: ['W4', 'W5'], ...python({ threads: 1 }) });
  list.push(
    { name: 'onnxruntime-node', workloads: ['W4'], ...node('onnxruntime.mjs', { threads: cores }), needsOnnx: true },
    { name: 'onnxruntime-node 1 thr', workloads: ['W4'], ...node('onnxruntime.mjs', { threads: 1 }), needsOnnx: true },
    { name: 'tfjs wasm', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('tfjs.mjs', { backend: 'wasm' }) },
    { name: 'tfjs cpu', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('tfjs.mjs', { backend: 'cpu' }) },
    { name: 'tfjs-node', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('tfjs.mjs', { backend: 'node' }) },
    { name: 'brain.js', workloads: ['W1', 'W2', 'W3', 'W4', 'W5'], ...node('brainjs.mjs') },
  );
  if (cores === 1) list.find((p) => p.name === 'onnxruntime-node 1 thr').workloads = [];
  return list;
}
