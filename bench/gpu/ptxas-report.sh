#!/usr/bin/env bash
# The -Xptxas -v resource report of every CUDA kernel for every architecture the build names
# (registers, shared memory, spills), demangled, one line per kernel and arch. Exits 1 when a
# kernel spills registers. Needs only nvcc (no GPU).
#   bash bench/gpu/ptxas-report.sh [out-file]   (default: build/ptxas.txt; bench/gpu/run.sh keeps it in its log)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build/ptxas.txt}"
mkdir -p "$(dirname "$out")"
nvcc="${CUDACXX:-nvcc}"
# Same targets as CMakeLists.txt (75-real 80-real 90-real 90-virtual).
archs=(-gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80
       -gencode arch=compute_90,code=sm_90)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
{
  echo "# ptxas resource report: fusedrnn CUDA kernels"
  echo "# $("$nvcc" --version | tail -1); $(date -u +%Y-%m-%dT%H:%MZ); flags: -O3 -std=c++17 ${archs[*]}"
  echo "# arch | registers | spill stores/loads (bytes) | smem (bytes) | kernel"
} >"$out"
spills=0
for cu in "$root"/cuda/*.cu; do
  log="$tmp/$(basename "$cu").log"
  "$nvcc" -O3 -std=c++17 -I"$root" "${archs[@]}" -Xptxas -v -c "$cu" -o "$tmp/k.o" >"$log" 2>&1 || {
    cat "$log" >&2; exit 2; }
  # ptxas prints "Compiling entry function '<mangled>' for 'sm_NN'", a spill line, then
  # "Used N registers, ... M bytes smem".
  python3 - "$log" <<'PY' | c++filt | sed -E 's/\(anonymous namespace\):://g; s/frnn::cuda:://g' >>"$out"
import re, sys
kern = arch = None
spill = ("?", "?")
for line in open(sys.argv[1]):
    m = re.search(r"Compiling entry function '([^']+)' for '(sm_\w+)'", line)
    if m:
        kern, arch = m.groups()
        continue
    m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m:
        spill = m.groups()
        continue
    m = re.search(r"Used (\d+) registers", line)
    if m and kern:
        smem = re.search(r"(\d+) bytes smem", line)
        print(f"{arch} | {m.group(1)} | {spill[0]}/{spill[1]} | {smem.group(1) if smem else 0} | {kern}")
        kern = None
PY
done
spills=$(awk -F' \\| ' '!/^#/ && $3 != "0/0"' "$out" | wc -l)
echo "# kernels with register spills: $spills" >>"$out"
cat "$out"
[ "$spills" -eq 0 ]
