"""PyTorch CPU runner (Debian's python3-torch under /usr/bin/python3), same protocol as the Node
runners: argv[1] is one JSON job, stdout gets one JSON line. Matched settings: keras-style init
(glorot-uniform input weights, orthogonal recurrent weights, zero biases, forget bias 1 in
bias_ih's forget slice, as fusedrnn stores it), one-hot input, CE mean over B*T, global-norm clip 5,
Adam 1e-3, fp32. With job.options.exportOnnx set, it instead writes the W4 step model to that path
(torch.onnx.export) for the onnxruntime-node runner."""
import json
import resource
import sys
import time

job = json.loads(sys.argv[1])
options = job.get("options", {})


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    sys.exit(0)


try:
    import torch
    import torch.nn.functional as F
except Exception as err:  # the bench reports the peer as unavailable, never crashes
    emit({"ok": False, "reason": f"{sys.executable} cannot import torch: {err}"})

w = job["workload"]
plan = job["plan"]
threads = int(options.get("threads", 1))
torch.set_num_threads(threads)
torch.manual_seed(7)


class Net(torch.nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        rnn_cls = torch.nn.GRU if w["cell"] == "gru" else torch.nn.LSTM
        self.rnn = rnn_cls(in_size, w["hidden"], w["layers"], batch_first=True)
        self.dense = torch.nn.Linear(w["hidden"], out_size)
        H = w["hidden"]
        for name, p in self.rnn.named_parameters():
            if name.startswith("weight_ih"):
                torch.nn.init.xavier_uniform_(p)
            elif name.startswith("weight_hh"):
                torch.nn.init.orthogonal_(p)
            else:
                torch.nn.init.zeros_(p)
                if w["cell"] == "lstm" and name.startswith("bias_ih"):
                    p.data[H:2 * H] = 1.0  # forget gate (gate order i, f, g, o)
        torch.nn.init.xavier_uniform_(self.dense.weight)
        torch.nn.init.zeros_(self.dense.bias)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.dense(y), state


def blas_in_use():
    """The BLAS libraries this process mapped (folder/file) and which kind they are: 'reference'
    when the only one is Debian's reference libblas (its blas/ folder: ~25x slower than OpenBLAS
    on these products, so no ratio against it means anything), else 'optimized' (OpenBLAS, BLIS,
    MKL) or 'none' (a torch with its own BLAS linked in)."""
    paths = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.rsplit("/", 1)[-1] or "mkl" in line})
    names = [p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in paths]
    if not paths:
        kind = "none"
    elif all(n.startswith("blas/libblas") for n in names):
        kind = "reference"
    else:
        kind = "optimized"
    return ", ".join(names) or "none mapped", kind


def time_runs(once, scale=lambda ms: ms):
    t0 = time.perf_counter()
    once()
    warmup = (time.perf_counter() - t0) * 1000
    if warmup / 1000 > plan["budgetSeconds"]:
        return {"samples": [scale(warmup)], "warmupOnly": True,
                "notes": [f"one run only (the warm-up, {warmup / 1000:.1f} s, exceeded the {plan['budgetSeconds']} s budget)"]}
    # The harness's rule (bench/runners/harness.mjs, workloads.mjs's runPlan): at least plan["runs"]
    # timed runs taking plan["minSeconds"] together, at most plan["maxRuns"].
    samples, notes, start = [], [], time.perf_counter()
    while True:
        t = time.perf_counter()
        once()
        samples.append(scale((time.perf_counter() - t) * 1000))
        elapsed = time.perf_counter() - start
        if len(samples) >= plan["runs"] and (elapsed >= plan.get("minSeconds", 0) or len(samples) >= plan.get("maxRuns", float("inf"))):
            break
        if elapsed > plan["budgetSeconds"]:
            if len(samples) < plan["runs"]:
                notes.append(f"{len(samples)} timed runs (stopped at the {plan['budgetSeconds']} s budget)")
            break
    return {"samples": samples, "notes": notes}


def train_step_fn(model, x, loss_of):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def once():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model, x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        loss.item()
    return once


def char_ids(count, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, w["vocab"], (count,), generator=g)


def main():
    if w["kind"] == "train-char":
        B, T, V = w["batch"], w["steps"], w["vocab"]
        model = Net(V, V)
        x = F.one_hot(char_ids(B * T, 1).view(B, T), V).float()
        y = char_ids(B * T, 2)
        timing = time_runs(train_step_fn(model, x, lambda m, x: F.cross_entropy(m(x)[0].reshape(B * T, V), y)))
    elif w["kind"] == "train-series":
        B, T = w["batch"], w["steps"]
        model = Net(w["input"], 1)
        phase = torch.rand(B, 1) * 6.2832
        series = torch.sin(phase + 0.3 * torch.arange(T + 1)) + 0.05 * (torch.rand(B, T + 1) - 0.5)
        x, y = series[:, :T, None].contiguous(), series[:, T:].contiguous()
        timing = time_runs(train_step_fn(model, x, lambda m, x: F.mse_loss(m(x)[0][:, -1, :], y)))
    else:
        V, chars = w["vocab"], plan["generateChars"]
        model = Net(V, V).eval()
        if options.get("exportOnnx"):
            state = (torch.zeros(w["layers"], 1, w["hidden"]), torch.zeros(w["layers"], 1, w["hidden"]))
            torch.onnx.export(model, (torch.zeros(1, 1, V), state), options["exportOnnx"],
                              input_names=["x", "h0", "c0"], output_names=["logits", "h", "c"], opset_version=14)
            emit({"ok": True, "exported": options["exportOnnx"], "version": f"torch {torch.__version__}"})
        eye = torch.eye(V)

        @torch.no_grad()
        def generate():
            token, state = 5, None
            for _ in range(chars):
                logits, state = model(eye[token].view(1, 1, V), state)
                probs = torch.softmax(logits.view(V) / w["temperature"], 0)
                token = int(torch.multinomial(probs, 1))
        timing = time_runs(generate, lambda ms: ms * 1000 / chars)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    blas, blas_kind = blas_in_use()
    emit({"ok": True, "peakRssMB": peak, **timing, "version": f"torch {torch.__version__} (BLAS: {blas})",
          "blas": blas_kind, "threads": torch.get_num_threads(), "precision": "float32"})


try:
    main()
except SystemExit:
    raise
except Exception as err:
    emit({"ok": False, "reason": f"failed: {type(err).__name__}: {err}"})
