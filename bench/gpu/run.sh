#!/usr/bin/env bash
# The GPU check-and-bench run (issues 3, 15), for a Linux GPU host that may have no Node.js, no npm
# registry and no git, but has the NVIDIA driver, and maybe nvcc/cmake and Python with PyTorch.
#   bash bench/gpu/run.sh [--quick] [--node /path/to/node] [--runs 20] [--skip-bench] [--copy-to DIR]
# Node: --node, else `node` on PATH, else .device/node.xz (../shared/tools/device-node.sh).
# Full (about 4 min on an H200): 1 build or load the addons (build/Release and, for the parity
# tests' op harness, build/test; built here with cmake-js when nvcc is present and one is
# missing), 2 the CUDA probe, 3 the parity tests (vitest),
# 4 compute-sanitizer memcheck, racecheck and synccheck on reduced sizes, 5 the ptxas resource report (CPU only,
# in the background during 3-4), 6 fusedrnn vs PyTorch eager and PyTorch with CUDA graphs on W1-W5
# in TF32 and exact fp32, fusedrnn W2 TF32 again with FUSEDRNN_CUDA_RECURRENT=stepwise, the per
# layer-step microbench, 7 the report: bench/results/latest-gpu-<gpu>.md (replaced) and one line
# appended to bench/results/history.md.
# --quick (about 2 min): 1-3, then only W2 and W4 in TF32 (fusedrnn, PyTorch eager and graph);
# writes bench/results/quick-gpu.md and no history (so does --skip-bench).
# Every stage runs under `timeout`: one that hangs is reported as TIMED OUT and the run goes on.
# The environment passes through unchanged to every stage (e.g. FUSEDRNN_CUDA_RECURRENT).
# --copy-to (default $OUT when set): where the report and the logs are also copied at the end.
# The commit is the content of .device/commit, else `git rev-parse --short HEAD`, else "unknown".
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs=20 quick=0 skip_bench=0 node_bin="" copy_to="${OUT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --node) node_bin="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --skip-bench) skip_bench=1; shift ;;
    --copy-to) copy_to="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$node_bin" ]; then
  if command -v node >/dev/null; then node_bin="$(command -v node)"
  elif [ -s .device/node.xz ]; then
    d="$(mktemp -d)"; xz -dc .device/node.xz >"$d/node" && chmod +x "$d/node"; node_bin="$d/node"
  else echo "no node: pass --node or carry .device/node.xz" >&2; exit 2; fi
fi
PATH="$(dirname "$node_bin"):$PATH"
export PATH
date="$(date -u +%Y-%m-%dT%H:%MZ)"
log="$(mktemp -d)"
: >"$log/bench.jsonl"
kind=full; [ $quick -eq 1 ] && kind=quick

# Stage limits in seconds: ceilings against hangs (a stuck kernel or barrier), far above normal.
T_BUILD=540 T_PROBE=60 T_PARITY=300 T_SANITIZER=150 T_PTXAS=300 T_FUSEDRNN=120 T_TORCH=180 T_STEP=120

status() { printf '%-28s %s\n' "$1" "$2" | tee -a "$log/status"; }
# The command under timeout; -k: SIGKILL 10 s after the TERM, for a process stuck in the driver.
tmo() { local secs=$1; shift; timeout -k 10 "$secs" "$@"; }
# outcome RC SECS OK-TEXT FAIL-TEXT: a stage's status word.
outcome() {
  if [ "$1" -eq 0 ]; then echo "$3"
  elif [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then echo "TIMED OUT after $2 s"
  else echo "$4"; fi
}

# The GPU's name (nvidia-smi, else the probe's device line) names the report; called after the probe.
gpu_name() {
  local name
  name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
  [ -n "$name" ] || name="$(sed -n 's/.*device 0: \([^,]*\),.*/\1/p' "$log/probe.json" 2>/dev/null | head -1)"
  echo "${name:-unknown GPU}"
}
gpu_slug() {
  case "$1" in
    *H200*) echo h200 ;;
    *) echo "$1" | tr '[:upper:]' '[:lower:]' | sed -E 's/^nvidia //; s/[^a-z0-9]+/-/g; s/^-+|-+$//g' ;;
  esac
}
# .device/commit first: on the GPU machine a .git that travelled may be older than the tree.
commit="$(head -c 40 .device/commit 2>/dev/null)"
if [ -z "$commit" ]; then
  commit="$(git rev-parse --short HEAD 2>/dev/null)"
  if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit+dirty"; fi
fi
[ -n "$commit" ] || commit=unknown

# 7. The report (also on a fatal stop, so the status table always comes back).
finish() {
  local out history=() gpu
  gpu="$(gpu_name)"
  # A run without figures must not replace the last full report.
  if [ $quick -eq 1 ] || [ $skip_bench -eq 1 ]; then out=bench/results/quick-gpu.md
  else
    out="bench/results/latest-gpu-$(gpu_slug "$gpu").md"
    [ "${1:-}" = bench ] && history=(--history bench/results/history.md)
  fi
  python3 bench/gpu/report.py "$log" "$out" --kind "$kind" --date "$date" --commit "$commit" --gpu "$gpu" --machine "gpu-$(gpu_slug "$gpu")" ${history[@]+"${history[@]}"} \
    || echo "report failed (logs in $log)" >&2
  if [ -n "$copy_to" ]; then
    mkdir -p "$copy_to/logs" && cp "$out" "$copy_to/" && cp -r "$log/." "$copy_to/logs/"
    if [ ${#history[@]} -gt 0 ]; then cp bench/results/history.md "$copy_to/"; fi
  fi
  echo "wrote $out (logs in $log)"
}

# 1. the addon
if { [ ! -f build/Release/fusedrnn.node ] || [ ! -f build/test/fusedrnn_test.node ]; } && command -v nvcc >/dev/null && [ -d node_modules/cmake-js ]; then
  tmo $T_BUILD node node_modules/cmake-js/bin/cmake-js rebuild --CDFRNN_REQUIRE_CUDA=ON >"$log/build.txt" 2>&1
  rc=$?
  status build "$(outcome $rc $T_BUILD "built here (cmake-js)" "FAILED (see $log/build.txt)")"
  [ $rc -eq 0 ] || { tail -30 "$log/build.txt"; finish; exit 1; }
else
  status build "$(ls build/Release/fusedrnn.node 2>/dev/null || echo 'prebuild via loader')"
fi
[ -f dist/index.js ] || { status dist "missing: run npx tsc -p tsconfig.json where npm is available"; finish; exit 1; }

# 2. the probe
tmo $T_PROBE node -e "
import('./dist/native.js').then(({ loadNative }) => {
  const a = loadNative({ backend: 'cpu' });
  const p = a.cudaProbe();
  console.log(JSON.stringify({ build: a.buildInfo(), probe: p }, null, 1));
  process.exit(p.ok ? 0 : 1);
})" >"$log/probe.json" 2>&1
rc=$?
status probe "$(outcome $rc $T_PROBE ok FAILED) ($(grep -m1 '"reason"' "$log/probe.json" | cut -c1-160))"
[ $rc -eq 0 ] || { cat "$log/probe.json"; finish; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$log/gpu.csv" 2>&1 || rm -f "$log/gpu.csv"

# 5. the resource report needs only the CPU: started now, awaited before the benchmarks.
ptxas_pid=""
if [ $quick -eq 0 ] && command -v nvcc >/dev/null && command -v python3 >/dev/null; then
  ( tmo $T_PTXAS bash bench/gpu/ptxas-report.sh "$log/ptxas.txt" >"$log/ptxas.log" 2>&1; echo $? >"$log/ptxas.rc" ) &
  ptxas_pid=$!
fi

# 3. parity
tests=()
# Every test file with GPU-only cases (the leak test's long GPU run: full mode only).
gpu_tests="cuda-parity cuda-persistent cuda-decode cuda-graphs device-independence gpu-faults"
[ $quick -eq 1 ] || gpu_tests="$gpu_tests leaks"
for t in $gpu_tests; do [ -f "test/$t.test.ts" ] && tests+=("test/$t.test.ts"); done
if [ -f node_modules/vitest/vitest.mjs ] && [ ${#tests[@]} -gt 0 ]; then
  tmo $T_PARITY node node_modules/vitest/vitest.mjs run "${tests[@]}" >"$log/parity.txt" 2>&1
  rc=$?
  status parity "$(outcome $rc $T_PARITY passed FAILED) ($(grep -m1 '^Tests:' "$log/parity.txt"))"
else
  status parity "not run: node_modules/vitest or the test files missing (carry node_modules)"
fi

# 4. compute-sanitizer on reduced sizes
if [ $quick -eq 1 ]; then
  status sanitizer "skipped (--quick)"
elif command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck synccheck; do
    tmo $T_SANITIZER compute-sanitizer --tool "$tool" --error-exitcode 9 node bench/gpu/sanitize-smoke.mjs >"$log/$tool.txt" 2>&1
    rc=$?
    status "$tool" "$(outcome $rc $T_SANITIZER clean "ERRORS (see $log/$tool.txt)") $(grep -m1 'ERROR SUMMARY' "$log/$tool.txt")"
  done
else
  status sanitizer "not run: compute-sanitizer not on PATH"
fi

if [ -n "$ptxas_pid" ]; then
  wait "$ptxas_pid"
  rc="$(cat "$log/ptxas.rc" 2>/dev/null || echo 1)"
  status ptxas "$(outcome "$rc" $T_PTXAS done "FAILED (exit $rc, see $log/ptxas.log)") $(tail -1 "$log/ptxas.txt" 2>/dev/null)"
fi

# 6. benchmarks: each invocation appends its JSON lines (also those printed before a timeout).
# bench NAME SECS CMD...: one invocation, its stderr kept, a failure or timeout in the status table.
bench() {
  local name=$1 secs=$2; shift 2
  tmo "$secs" "$@" >>"$log/bench.jsonl" 2>"$log/$name.err"
  local rc=$?
  [ $rc -eq 0 ] || status "$name" "$(outcome $rc "$secs" "" "FAILED: $(tail -3 "$log/$name.err" | tr '\n' ' ' | cut -c1-200)")"
}
if [ $skip_bench -eq 1 ]; then
  status bench "skipped (--skip-bench)"
elif [ $quick -eq 1 ]; then
  bench fusedrnn-tf32 $T_FUSEDRNN node bench/gpu/fusedrnn-bench.mjs --precision tf32 --runs "$runs" --only W2,W4
  bench pytorch-tf32 $T_TORCH python3 bench/gpu/torch_bench.py --precision tf32 --runs "$runs" --only W2,W4
else
  for precision in tf32 fp32; do
    bench "fusedrnn-$precision" $T_FUSEDRNN node bench/gpu/fusedrnn-bench.mjs --precision $precision --runs "$runs"
    bench "pytorch-$precision" $T_TORCH python3 bench/gpu/torch_bench.py --precision $precision --runs "$runs"
  done
  # The per-step recurrent path, for comparison with the default (persistent where it fits).
  bench fusedrnn-stepwise $T_FUSEDRNN env FUSEDRNN_CUDA_RECURRENT=stepwise \
    node bench/gpu/fusedrnn-bench.mjs --precision tf32 --runs "$runs" --only W2 --variant stepwise
  [ -f bench/gpu/step-microbench.mjs ] && bench step-microbench $T_STEP node bench/gpu/step-microbench.mjs
fi

finish "$( [ $skip_bench -eq 0 ] && echo bench )"
