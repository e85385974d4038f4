# PyTorch nn.LSTM / nn.GRU (cuDNN) on W1-W5 (../shared/BENCHMARKS.md), same sizes as
# fusedrnn-bench.mjs, GPU time by CUDA events: median/min/max of >= 20 timed runs after warm-up.
# Two variants per workload: "pytorch-eager" (plain PyTorch) and "pytorch-graph" (PyTorch at its
# best: the whole training step, or W4's whole 500-character loop with sampling on the device,
# captured once as a CUDA graph and replayed, which removes the per-kernel launch cost that
# dominates at these sizes). One JSON line per (workload, variant); a variant that fails prints
# a line with "error" instead, and the others still run. Also one "launch" line: the cost of a
# tiny kernel launched back to back, and of a launch + sync round trip.
#   python3 bench/gpu/torch_bench.py --precision tf32|fp32 [--runs 20] [--only W2,W4]
#                                    [--variants eager,graph] [--no-launch]
import argparse, gc, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--precision", choices=["tf32", "fp32"], default="tf32")
p.add_argument("--runs", type=int, default=20)
p.add_argument("--only", default="W1,W2,W3,W4,W5")
p.add_argument("--variants", default="eager,graph")
p.add_argument("--no-launch", action="store_true")
a = p.parse_args()
tf32 = a.precision == "tf32"
torch.backends.cudnn.allow_tf32 = tf32
torch.backends.cuda.matmul.allow_tf32 = tf32
dev = torch.device("cuda")
V = 83
VERSION = f"pytorch {torch.__version__} cudnn {torch.backends.cudnn.version()}"


def emit(line):
    # flush: run.sh may kill this process at its timeout, and what was measured must survive
    print(json.dumps(line), flush=True)


def timed(fn, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(a.runs):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        out.append(s.elapsed_time(e))
    return {"median": statistics.median(out), "min": min(out), "max": max(out), "runs": len(out)}


def captured(fn, warmup=3):
    """fn captured as a CUDA graph: (graph, fn's return value as static tensors). Warm-up runs on
    a side stream first (PyTorch's rule: lazy allocations, cuDNN plans and the optimizer state
    must exist before capture, and not on the capturing stream)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = fn()
    return g, out


class Char(nn.Module):
    def __init__(self, cell, H):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(V, H, num_layers=2, batch_first=True)
        self.dense = nn.Linear(H, V)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.dense(y), state


def char_step(cell, H, B, T, graph):
    """W1-W3's training step; returns the loss tensor (the caller reads it: one host read per
    step, as fusedrnn's trainStepSync does). Capturable Adam keeps its step count on the device."""
    m = Char(cell, H).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, capturable=graph)
    x = F.one_hot(torch.randint(V, (B, T), device=dev), V).float()
    t = torch.randint(V, (B * T,), device=dev)

    def step():
        opt.zero_grad(set_to_none=False)  # grads stay where the graph captured them
        loss = F.cross_entropy(m(x)[0].reshape(-1, V), t)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        return loss

    return step


def series_step(graph):
    """W5: 2 stacked LSTM -> last step -> dense -> 1 value, MSE, Adam (no clipping, as in
    fusedrnn-bench.mjs and the eager figures so far)."""
    rnn = nn.LSTM(1, 20, num_layers=2, batch_first=True).to(dev)
    head = nn.Linear(20, 1).to(dev)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3, capturable=graph)
    x = torch.rand(64, 20, 1, device=dev) * 2 - 1
    y = torch.rand(64, 1, device=dev) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.mse_loss(head(rnn(x)[0][:, -1]), y)
        loss.backward()
        opt.step()
        return loss

    return step


def train(make, graph):
    step = make(graph)
    if not graph:
        return {"unit": "ms/step", **timed(lambda: step().item())}
    g, loss = captured(step)
    return {"unit": "ms/step", **timed(lambda: (g.replay(), loss.item()))}


N_CHARS = 500


@torch.no_grad()
def generation(graph):
    """W4: the W1 model, batch 1, 500 characters, softmax with temperature 0.8 and a draw on the
    device each step, state carried; one host read at the end."""
    m = Char("lstm", 256).to(dev).eval()
    if not graph:
        def gen():
            tok = torch.zeros(1, 1, dtype=torch.long, device=dev)
            state = None
            for _ in range(N_CHARS):
                logits, state = m(F.one_hot(tok, V).float(), state)
                tok = torch.multinomial(torch.softmax(logits[:, -1] / 0.8, -1), 1)
            tok.item()
        r = timed(gen, warmup=2)
    else:
        # Static inputs and outputs for the graph; one-hot as a row gather from an identity
        # matrix (no data-dependent checks inside the capture). multinomial on the device is
        # graph-safe: each replay advances the generator's offset, so the draws differ per replay.
        eye = torch.eye(V, device=dev)
        tok0 = torch.zeros(1, dtype=torch.long, device=dev)
        h0 = torch.zeros(2, 1, 256, device=dev)
        c0 = torch.zeros(2, 1, 256, device=dev)
        out = torch.zeros(N_CHARS, dtype=torch.long, device=dev)

        def loop():
            tok, state = tok0, (h0, c0)
            for i in range(N_CHARS):
                logits, state = m(eye[tok].view(1, 1, V), state)
                tok = torch.multinomial(torch.softmax(logits.view(1, V) / 0.8, -1), 1).view(1)
                out[i:i + 1].copy_(tok)
            return out

        g, out = captured(loop, warmup=1)
        r = timed(lambda: (g.replay(), out[-1].item()), warmup=2)
    return {"unit": "us/char", **{k: (v * 1000 / N_CHARS if k != "runs" else v) for k, v in r.items()}}


WORKLOADS = {
    "W1": lambda graph: train(lambda g: char_step("lstm", 256, 32, 50, g), graph),
    "W2": lambda graph: train(lambda g: char_step("lstm", 512, 100, 100, g), graph),
    "W3": lambda graph: train(lambda g: char_step("gru", 256, 32, 50, g), graph),
    "W4": generation,
    "W5": lambda graph: train(series_step, graph),
}


def launch_costs():
    """A tiny kernel (x.add_(1) on one float) 1000 times back to back: GPU time per kernel by
    CUDA events, which at this size is the host's launch rate; and a launch + synchronize round
    trip by the host clock. Medians of 5 repetitions, in microseconds."""
    x = torch.zeros(1, device=dev)
    torch.cuda.synchronize()
    per_kernel, round_trip = [], []
    for _ in range(5):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(1000):
            x.add_(1)
        e.record()
        e.synchronize()
        per_kernel.append(s.elapsed_time(e))  # ms per 1000 = us per kernel
        t0 = time.perf_counter()
        for _ in range(200):
            x.add_(1)
            torch.cuda.synchronize()
        round_trip.append((time.perf_counter() - t0) / 200 * 1e6)
    return {"kernel_us": statistics.median(per_kernel), "sync_us": statistics.median(round_trip)}


if not a.no_launch:
    try:
        emit({"library": "pytorch", "version": VERSION, "precision": a.precision, "id": "launch", **launch_costs()})
    except Exception as e:  # report, never stop the workloads for it
        emit({"library": "pytorch", "version": VERSION, "precision": a.precision, "id": "launch", "error": repr(e)[:300]})

for wid in [w for w in a.only.split(",") if w in WORKLOADS]:
    for variant in a.variants.split(","):
        head = {"library": f"pytorch-{variant}", "version": VERSION, "precision": a.precision, "id": wid}
        torch.manual_seed(1)  # each variant starts from the same weights and data
        try:
            emit({**head, **WORKLOADS[wid](variant == "graph")})
        except Exception as e:
            emit({**head, "error": repr(e)[:300]})
        # Drop this workload's graph and its private memory pool before the next one.
        gc.collect()
        try:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        except Exception:
            pass
