# The report of bench/gpu/run.sh, from its log folder: status, GPU, the W1-W5 table (fusedrnn
# against both PyTorch anchors: eager cuDNN and the step captured as a CUDA graph), launch costs,
# per layer-step figures, ptxas. Prints the table; optionally appends a line to the history.
#   python3 bench/gpu/report.py LOGDIR OUT.md [--kind quick|full] [--date D] [--commit C]
#                               [--gpu NAME] [--history bench/results/history.md]
# LOGDIR holds status (the stage table), bench.jsonl (one JSON line per figure: fusedrnn-bench.mjs,
# torch_bench.py, step-microbench.mjs) and optionally gpu.csv and ptxas.txt.
import argparse, json, os

p = argparse.ArgumentParser()
p.add_argument("log")
p.add_argument("out")
p.add_argument("--kind", default="full")
p.add_argument("--machine", default="gpu", help="the machine kind history.md names (e.g. gpu-h200)")
p.add_argument("--date", default="")
p.add_argument("--commit", default="unknown")
p.add_argument("--gpu", default="unknown GPU")
p.add_argument("--history")
a = p.parse_args()


def read(name):
    path = os.path.join(a.log, name)
    return open(path).read().rstrip() if os.path.exists(path) else None


rows = []
for line in (read("bench.jsonl") or "").splitlines():
    try:
        if line.startswith("{"):
            rows.append(json.loads(line))
    except json.JSONDecodeError:
        pass  # a line cut by a timeout


def num(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def cell(r):
    if not r:
        return "—"
    if "error" in r:
        return "failed"
    return f"{num(r['median'])} ({num(r['min'])}–{num(r['max'])})"


def ratio(f, t):
    ok = f and t and "median" in f and "median" in t
    return f"{f['median'] / t['median']:.2f}" if ok else "—"


def find(wid, prec, lib, variant=None):
    return next((r for r in rows if r.get("id") == wid and r.get("precision") == prec
                 and r.get("library") == lib and r.get("variant") == variant), None)


WORKLOADS = ["W1", "W2", "W3", "W4", "W5"]
table = ["| workload | precision | fusedrnn | PyTorch eager | PyTorch graph | fusedrnn ÷ eager | fusedrnn ÷ graph |",
         "|---|---|---:|---:|---:|---:|---:|"]
for wid in WORKLOADS:
    for prec in ["tf32", "fp32"]:
        e, g = find(wid, prec, "pytorch-eager"), find(wid, prec, "pytorch-graph")
        fs = [(None, find(wid, prec, "fusedrnn"))]
        fs += [(r["variant"], r) for r in rows
               if r.get("library") == "fusedrnn" and r.get("id") == wid and r.get("precision") == prec and r.get("variant")]
        for variant, f in fs:
            if not (f or e or g):
                continue
            unit = next((r["unit"] for r in (f, e, g) if r and "unit" in r), "")
            label = f"{wid} ({unit})" if not variant else f"{wid} ({unit}), fusedrnn {variant}"
            if variant and f.get("recurrentEnv"):
                label += f" (FUSEDRNN_CUDA_RECURRENT={f['recurrentEnv']})"
            table.append(f"| {label} | {prec} | {cell(f)} | {cell(e)} | {cell(g)} | {ratio(f, e)} | {ratio(f, g)} |")

versions = sorted({r["version"] for r in rows if r.get("library", "").startswith("pytorch") and "version" in r})
title = f"# GPU check and benchmark (bench/gpu/run.sh, {a.kind})"
text = [title, "", f"{a.date} · commit {a.commit} · {a.gpu}", "", "```", read("status") or "(no stages ran)", "```", ""]
if read("gpu.csv"):
    text += ["```", read("gpu.csv"), "```", ""]
text += [f"PyTorch: {', '.join(versions) or 'not measured'}. Medians (min–max) of the timed runs.",
         "fusedrnn: wall time of a synchronised trainStepSync / generate (one host sync per step). PyTorch eager: CUDA events",
         "around the same step, with its loss.item(). PyTorch graph: the whole step (W4: the whole 500-character loop, sampling",
         "on the device) captured once as a CUDA graph, CUDA events around its replay plus the same one host read; capturable Adam.",
         "TF32: cudnn.allow_tf32 and matmul.allow_tf32 = (precision == tf32).",
         "**Ratios are fusedrnn's time ÷ PyTorch's: below 1 means fusedrnn is faster.**", ""]
text += table
paths = [f"{r['id']} {r['precision']} {r['recurrent']}" for r in rows
         if r.get("library") == "fusedrnn" and r.get("recurrent") and not r.get("variant") and r.get("id") in WORKLOADS]
if paths:
    text += ["", "fusedrnn recurrent path that ran (addon counters): " + ", ".join(paths)]
launch = [f"{r['kernel_us']:.2f} µs per tiny kernel back to back, {r['sync_us']:.1f} µs per launch + synchronize "
          f"({r['precision']} process)" for r in rows if r.get("id") == "launch" and "kernel_us" in r]
if launch:
    text += ["", "Launch cost through PyTorch: " + "; ".join(launch) + "."]

steps = [r for r in rows if r.get("id") == "layer-step"]
if steps:
    text += ["", "## per layer-step", "",
             "One LSTM layer at W2's sizes (H=512, B=100, I=512, embedding input, last-step output) through a Model: "
             "(time at T=100 − time at T=1) ÷ 99, medians;",
             "forward from evaluateSync, backward = trainStepSync's figure − forward (bench/gpu/step-microbench.mjs).", "",
             "| path (FUSEDRNN_CUDA_RECURRENT) | ran | precision | direction | µs per layer-step |", "|---|---|---|---|---:|"]
    for r in steps:
        v = "failed: " + r["error"][:120] if "error" in r else f"{r['us_per_step']:.2f}"
        text.append(f"| {r.get('path')} | {r.get('recurrent', '?')} | {r.get('precision')} | {r.get('direction')} | {v} |")

errors = [r for r in rows if "error" in r]
if errors:
    text += ["", "## errors", ""]
    text += ["- " + " ".join(str(r[k]) for k in ("library", "variant", "path", "id", "precision") if r.get(k)) + f": {r['error']}"
             for r in errors]
if read("ptxas.txt"):
    text += ["", "## ptxas resource report", "```", read("ptxas.txt"), "```"]
os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
open(a.out, "w").write("\n".join(text) + "\n")
print("\n".join(table))

if a.history:
    def head(wid):
        f, e, g = (find(wid, "tf32", lib) for lib in ("fusedrnn", "pytorch-eager", "pytorch-graph"))
        return " / ".join(num(r["median"]) if r and "median" in r else "—" for r in (f, e, g))

    new = not os.path.exists(a.history)
    with open(a.history, "a") as h:
        if new:
            h.write("# Bench history\n\nOne line per full run (`npm run bench` on a CPU, `bench/gpu/run.sh` on a GPU); the "
                    "whole record of the latest run of each kind is `latest-<kind>.md`. Medians, W1–W3 and W5 in ms per "
                    "step, W4 in µs per character. Cells: fusedrnn / reference(s): on a CPU PyTorch with 2 threads "
                    "(float32); on a GPU (TF32) PyTorch eager / PyTorch with CUDA graphs.\n\n"
                    "| date | commit | kind | W1 | W2 | W3 | W4 | W5 |\n|---|---|---|---|---|---|---|---|\n")
        h.write(f"| {a.date} | {a.commit} | {a.machine} | " + " | ".join(head(w) for w in WORKLOADS) + " |\n")
