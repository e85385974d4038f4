// SGEMM throughput through the dense op (y = x·Wᵀ: N x O x I), per kernel variant: median of
// --runs after warm-up, in GFLOP/s (2·N·O·I per call). The op harness is in the test addon only:
// needs the cmake-js build (build/test/fusedrnn_test.node).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
const native = createRequire(import.meta.url)('../../build/test/fusedrnn_test.node');
const runs = 7;
for (const [N, I, O] of [[1600, 256, 1024], [32, 256, 1024], [1600, 512, 2048]]) {
  const x = Float64Array.from({ length: N * I }, (_, k) => Math.sin(k));
  const W = Float64Array.from({ length: O * I }, (_, k) => Math.cos(k));
  for (const isa of ['avx512', 'avx2', 'generic']) {
    if (!native.cpuIsa.set(isa)) continue;
    const xs = [];
    for (let r = 0; r < runs + 2; r++) {
      const t = performance.now();
      native.ops.denseForward('float32', { N, I, O, act: 'linear', x, W });
      if (r >= 2) xs.push(performance.now() - t);
    }
    xs.sort((a, b) => a - b);
    const med = xs[runs >> 1];
    console.log(`${N}x${O}x${I} ${isa.padEnd(8)} median ${med.toFixed(2)} ms = ${((2 * N * O * I) / med / 1e6).toFixed(1)} GFLOP/s (incl. fp64<->fp32 conversion of the harness)`);
  }
}
