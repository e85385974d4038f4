"""PyTorch side of the interop test (no safetensors package needed: json + struct + torch).

  torch_interop.py <jobs.json>   runs each job, prints their results as one JSON list:
  {"mode": "logits", "path", "config", "tokens": [B][T]}
      Builds torch.nn.LSTM/GRU/RNN (+ Embedding / one-hot, Linear) for the fusedrnn config, loads
      the weights from the file by name, returns the logits, flattened.
  {"mode": "export", "path", "config", "seed"}
      Builds the same torch model with PyTorch's own initialisation and saves its state dict as
      safetensors (F32).
  {"mode": "strict-load", "path", "config", "tokens"}
      Builds stock modules (nn.Embedding, one multi-layer nn.LSTM/GRU/RNN, nn.Linear per dense
      layer), loads each from the file's tensors under its prefix with load_state_dict(strict=True)
      (every tensor must be claimed), returns the float64 logits, flattened.
  {"mode": "strict-save", "path", "config", "seed", "tokens"}
      The same stock modules with PyTorch's initialisation: saves their state dicts under the
      prefixes as F64 safetensors and returns their logits.
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).to(torch.float64)
    return out


def write_safetensors(path, tensors, dtype="F32"):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        if dtype == "F32":
            raw = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        else:
            raw = t.detach().to(torch.float64).contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class Net(nn.Module):
    """Module names match fusedrnn's parameter names: embedding.*, rnn.*, dense.* / denseK.*."""

    def __init__(self, cfg):
        super().__init__()
        inp = cfg["input"]
        self.vocab = inp["vocabSize"]
        width = inp["dim"] if inp["type"] == "embedding" else self.vocab
        if inp["type"] == "embedding":
            self.embedding = nn.Embedding(self.vocab, inp["dim"])
        self.cells = nn.ModuleList()
        for layer in cfg["layers"]:
            kind = layer.get("cell", "lstm")
            bi = layer.get("bidirectional", False)
            if kind == "lstm":
                cell = nn.LSTM(width, layer["units"], batch_first=True, bidirectional=bi)
            elif kind == "gru":
                cell = nn.GRU(width, layer["units"], batch_first=True, bidirectional=bi)
            else:
                cell = nn.RNN(width, layer["units"], batch_first=True, bidirectional=bi, nonlinearity=layer.get("activation", "tanh"))
            self.cells.append(cell)
            width = layer["units"] * (2 if bi else 1)
        self.denses = nn.ModuleList()
        self.activations = []
        for d in cfg["dense"]:
            self.denses.append(nn.Linear(width, d["units"]))
            self.activations.append(d.get("activation", "linear"))
            width = d["units"]
        self.double()

    def named_tensors(self):
        """fusedrnn name -> parameter: layer l of the stack is rnn.*_l<l>, one torch module each."""
        out = {}
        if hasattr(self, "embedding"):
            out["embedding.weight"] = self.embedding.weight
        for l, cell in enumerate(self.cells):
            for name, p in cell.named_parameters():
                out["rnn." + name.replace("_l0", "_l%d" % l)] = p
        single = len(self.denses) == 1
        for k, lin in enumerate(self.denses):
            prefix = "dense" if single else "dense%d" % k
            out[prefix + ".weight"] = lin.weight
            out[prefix + ".bias"] = lin.bias
        return out

    def forward(self, tokens):
        x = self.embedding(tokens) if hasattr(self, "embedding") else nn.functional.one_hot(tokens, self.vocab).double()
        for cell in self.cells:
            x, _ = cell(x)
        for lin, act in zip(self.denses, self.activations):
            x = lin(x)
            if act == "tanh":
                x = torch.tanh(x)
        return x


class StockNet(nn.Module):
    """Only stock modules: the layers must share cell, units and direction (one multi-layer module)."""

    def __init__(self, cfg):
        super().__init__()
        inp = cfg["input"]
        self.vocab = inp["vocabSize"]
        self.prefixed = {}
        width = self.vocab
        if inp["type"] == "embedding":
            self.prefixed["embedding."] = nn.Embedding(self.vocab, inp["dim"])
            width = inp["dim"]
        first = cfg["layers"][0]
        kind = first.get("cell", "lstm")
        bi = first.get("bidirectional", False)
        common = dict(num_layers=len(cfg["layers"]), batch_first=True, bidirectional=bi)
        if kind == "lstm":
            rnn = nn.LSTM(width, first["units"], **common)
        elif kind == "gru":
            rnn = nn.GRU(width, first["units"], **common)
        else:
            rnn = nn.RNN(width, first["units"], nonlinearity=first.get("activation", "tanh"), **common)
        self.prefixed["rnn."] = rnn
        width = first["units"] * (2 if bi else 1)
        self.activations = []
        single = len(cfg["dense"]) == 1
        for k, d in enumerate(cfg["dense"]):
            self.prefixed["dense." if single else "dense%d." % k] = nn.Linear(width, d["units"])
            self.activations.append(d.get("activation", "linear"))
            width = d["units"]
        self.mods = nn.ModuleList(self.prefixed.values())
        self.double()

    def load_prefixed(self, tensors):
        claimed = set()
        for prefix, module in self.prefixed.items():
            part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            module.load_state_dict(part, strict=True)
            claimed.update(prefix + k for k in part)
        unclaimed = set(tensors) - claimed
        if unclaimed:
            raise SystemExit("tensors no module claimed: %s" % sorted(unclaimed))

    def prefixed_state(self):
        return {prefix + k: v for prefix, module in self.prefixed.items() for k, v in module.state_dict().items()}

    def forward(self, tokens):
        mods = dict(self.prefixed)
        emb = mods.pop("embedding.", None)
        x = emb(tokens) if emb is not None else nn.functional.one_hot(tokens, self.vocab).double()
        x, _ = mods.pop("rnn.")(x)
        for lin, act in zip(mods.values(), self.activations):
            x = lin(x)
            if act == "tanh":
                x = torch.tanh(x)
        return x


def run(job):
    cfg = job["config"]
    if job["mode"] == "logits":
        net = Net(cfg)
        weights = read_safetensors(job["path"])
        with torch.no_grad():
            for name, p in net.named_tensors().items():
                p.copy_(weights[name])
            return net(torch.tensor(job["tokens"], dtype=torch.long)).reshape(-1).tolist()
    if job["mode"] == "export":
        torch.manual_seed(job["seed"])
        write_safetensors(job["path"], Net(cfg).named_tensors())
        return None
    if job["mode"] == "strict-load":
        net = StockNet(cfg)
        net.load_prefixed(read_safetensors(job["path"]))
        with torch.no_grad():
            return net(torch.tensor(job["tokens"], dtype=torch.long)).reshape(-1).tolist()
    if job["mode"] == "strict-save":
        torch.manual_seed(job["seed"])
        net = StockNet(cfg)
        write_safetensors(job["path"], net.prefixed_state(), "F64")
        with torch.no_grad():
            return net(torch.tensor(job["tokens"], dtype=torch.long)).reshape(-1).tolist()
    raise SystemExit("unknown mode " + job["mode"])


def main():
    # One process runs many jobs: importing torch costs seconds.
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    print(json.dumps([run(job) for job in jobs]))


if __name__ == "__main__":
    main()
