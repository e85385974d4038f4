# PyTorch nn.LSTM / nn.GRU (cuDNN) on W1-W5 (../shared/BENCHMARKS.md), same sizes as
# fusedrnn-bench.mjs, GPU time by CUDA events: median/min/max of >= 20 timed runs after warm-up.
# One JSON line per workload.  python3 bench/gpu/torch_bench.py --precision tf32|fp32 [--runs 20]
import argparse, json, statistics
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--precision", choices=["tf32", "fp32"], default="tf32")
p.add_argument("--runs", type=int, default=20)
a = p.parse_args()
tf32 = a.precision == "tf32"
torch.backends.cudnn.allow_tf32 = tf32
torch.backends.cuda.matmul.allow_tf32 = tf32
dev = torch.device("cuda")
V = 83
torch.manual_seed(1)


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


class Char(nn.Module):
    def __init__(self, cell, H):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(V, H, num_layers=2, batch_first=True)
        self.dense = nn.Linear(H, V)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.dense(y), state


def train(id, cell, H, B, T):
    m = Char(cell, H).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = nn.functional.one_hot(torch.randint(V, (B, T), device=dev), V).float()
    t = torch.randint(V, (B * T,), device=dev)

    def step():
        opt.zero_grad(set_to_none=False)
        logits, _ = m(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), t)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        loss.item()  # the one host read per step, as fusedrnn does

    return {"id": id, "unit": "ms/step", **timed(step)}


def generation():
    m = Char("lstm", 256).to(dev).eval()
    n = 500

    @torch.no_grad()
    def gen():
        tok = torch.zeros(1, 1, dtype=torch.long, device=dev)
        state = None
        for _ in range(n):
            logits, state = m(nn.functional.one_hot(tok, V).float(), state)
            tok = torch.multinomial(torch.softmax(logits[:, -1] / 0.8, -1), 1)
        tok.item()

    r = timed(gen, warmup=2)
    return {"id": "W4", "unit": "us/char", **{k: (v * 1000 / n if k != "runs" else v) for k, v in r.items()}}


def time_series():
    rnn = nn.LSTM(1, 20, num_layers=2, batch_first=True).to(dev)
    head = nn.Linear(20, 1).to(dev)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    x = torch.rand(64, 20, 1, device=dev) * 2 - 1
    y = torch.rand(64, 1, device=dev) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=False)
        out, _ = rnn(x)
        loss = nn.functional.mse_loss(head(out[:, -1]), y)
        loss.backward()
        opt.step()
        loss.item()

    return {"id": "W5", "unit": "ms/step", **timed(step)}


for r in [train("W1", "lstm", 256, 32, 50), train("W2", "lstm", 512, 100, 100), train("W3", "gru", 256, 32, 50),
          generation(), time_series()]:
    print(json.dumps({"library": f"pytorch {torch.__version__} cudnn {torch.backends.cudnn.version()}",
                      "precision": a.precision, **r}))
