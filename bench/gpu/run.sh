#!/usr/bin/env bash
# The GPU check-and-bench run (issue 3), for a Linux GPU host that may have no Node.js and no npm
# registry, but has the NVIDIA driver, and maybe nvcc/cmake and Python with PyTorch.
#   bash bench/gpu/run.sh [--node /path/to/node] [--runs 20] [--skip-bench]
# Node: --node, else `node` on PATH, else .device/node.xz (../shared/tools/device-node.sh).
# Steps: 1 build or load the addon (build/Release, built here with cmake-js when nvcc is present
# and the build is missing), 2 the CUDA probe, 3 the parity tests (vitest, test/cuda-parity),
# 4 compute-sanitizer memcheck + racecheck on reduced sizes, 5 the ptxas resource report,
# 6 fusedrnn vs PyTorch (cuDNN) on W1–W5 in TF32 and exact fp32, 7 the table (printed last) and
# bench/results/gpu-<date>.md.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs=20 skip_bench=0 node_bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --node) node_bin="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --skip-bench) skip_bench=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$node_bin" ]; then
  if command -v node >/dev/null; then node_bin="$(command -v node)"
  elif [ -s .device/node.xz ]; then
    d="$(mktemp -d)"; xz -dc .device/node.xz >"$d/node" && chmod +x "$d/node"; node_bin="$d/node"
  else echo "no node: pass --node or carry .device/node.xz" >&2; exit 2; fi
fi
export PATH="$(dirname "$node_bin"):$PATH"
date="$(date -u +%Y-%m-%d)"
out="bench/results/gpu-$date.md"
log="$(mktemp -d)"
status() { printf '%-28s %s\n' "$1" "$2" | tee -a "$log/status"; }

# 1. the addon
if [ ! -f build/Release/fusedrnn.node ] && command -v nvcc >/dev/null && [ -d node_modules/cmake-js ]; then
  node node_modules/cmake-js/bin/cmake-js rebuild --CDFRNN_REQUIRE_CUDA=ON >"$log/build.txt" 2>&1 \
    && status build "built here (cmake-js)" || { status build "FAILED (see $log/build.txt)"; tail -30 "$log/build.txt"; exit 1; }
else
  status build "$(ls build/Release/fusedrnn.node 2>/dev/null || echo 'prebuild via loader')"
fi
[ -f dist/index.js ] || { echo "dist/ is missing: run npx tsc -p tsconfig.json where npm is available" >&2; exit 1; }

# 2. the probe
node -e "
import('./dist/native.js').then(({ loadNative }) => {
  const a = loadNative({ backend: 'cpu' });
  const p = a.cudaProbe();
  console.log(JSON.stringify({ build: a.buildInfo(), probe: p }, null, 1));
  process.exit(p.ok ? 0 : 1);
})" >"$log/probe.json" 2>&1
probe_ok=$?
status probe "$( [ $probe_ok -eq 0 ] && echo ok || echo FAILED) ($(grep -m1 '"reason"' "$log/probe.json" | cut -c1-160))"
[ $probe_ok -eq 0 ] || { cat "$log/probe.json"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$log/gpu.csv" 2>&1 || true

# 3. parity
if [ -f node_modules/vitest/vitest.mjs ]; then
  node node_modules/vitest/vitest.mjs run test/cuda-parity.test.ts test/device-independence.test.ts test/gpu-faults.test.ts >"$log/parity.txt" 2>&1
  status parity "$( [ $? -eq 0 ] && echo passed || echo FAILED) ($(grep -m1 '^Tests:' "$log/parity.txt"))"
else
  status parity "not run: node_modules/vitest missing (carry node_modules)"
fi

# 4. compute-sanitizer on reduced sizes
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 9 node bench/gpu/sanitize-smoke.mjs >"$log/$tool.txt" 2>&1
    status "$tool" "$( [ $? -eq 0 ] && echo clean || echo "ERRORS (see $log/$tool.txt)") $(grep -m1 'ERROR SUMMARY' "$log/$tool.txt")"
  done
else
  status sanitizer "not run: compute-sanitizer not on PATH"
fi

# 5. resource report
if command -v nvcc >/dev/null && command -v python3 >/dev/null; then
  bash bench/gpu/ptxas-report.sh "$log/ptxas.txt" >/dev/null 2>&1
  status ptxas "$(tail -1 "$log/ptxas.txt")"
fi

# 6. benchmarks
: >"$log/bench.jsonl"
if [ $skip_bench -eq 0 ]; then
  for precision in tf32 fp32; do
    node bench/gpu/fusedrnn-bench.mjs --precision $precision --runs "$runs" >>"$log/bench.jsonl" 2>"$log/fusedrnn-$precision.err" \
      || status "fusedrnn $precision" "FAILED: $(tail -3 "$log/fusedrnn-$precision.err" | tr '\n' ' ')"
    python3 bench/gpu/torch_bench.py --precision $precision --runs "$runs" >>"$log/bench.jsonl" 2>"$log/torch-$precision.err" \
      || status "pytorch $precision" "not measured: $(tail -1 "$log/torch-$precision.err")"
  done
fi

# 7. report
python3 - "$log" "$out" <<'PY'
import json, os, sys
log, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(os.path.join(log, "bench.jsonl")) if l.startswith("{")]
def cell(r): return f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})"
table = ["| workload | precision | fusedrnn median (min–max) | PyTorch cuDNN median (min–max) | fusedrnn / PyTorch |", "|---|---|---|---|---|"]
for wid in ["W1", "W2", "W3", "W4", "W5"]:
    for prec in ["tf32", "fp32"]:
        f = next((r for r in rows if r["id"] == wid and r["precision"] == prec and r["library"] == "fusedrnn"), None)
        t = next((r for r in rows if r["id"] == wid and r["precision"] == prec and r["library"] != "fusedrnn"), None)
        if not f and not t: continue
        unit = (f or t)["unit"]
        ratio = f"{f['median'] / t['median']:.2f}" if f and t else "—"
        table.append(f"| {wid} ({unit}) | {prec} | {cell(f) if f else '—'} | {cell(t) if t else '—'} | {ratio} |")
peers = sorted({r["library"] for r in rows if r["library"] != "fusedrnn"})
text = ["# GPU check and benchmark (bench/gpu/run.sh)", "", "```", open(os.path.join(log, "status")).read().rstrip(), "```", ""]
if os.path.exists(os.path.join(log, "gpu.csv")): text += ["```", open(os.path.join(log, "gpu.csv")).read().rstrip(), "```", ""]
text += [f"Peers: {', '.join(peers) or 'none measured'}. fusedrnn: wall time of a synchronized trainStepSync / generate (one host sync per step);",
         "PyTorch: CUDA events around the same step (with its loss.item()). TF32: cudnn.allow_tf32 and matmul.allow_tf32 = (precision == tf32).", ""]
text += table
if os.path.exists(os.path.join(log, "ptxas.txt")): text += ["", "## ptxas resource report", "```", open(os.path.join(log, "ptxas.txt")).read().rstrip(), "```"]
open(out, "w").write("\n".join(text) + "\n")
print("\n".join(table))
PY
echo "wrote $out (logs in $log)"
