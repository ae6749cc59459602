#!/usr/bin/python3
"""Trains a small network in PyTorch and saves it as a model file this project loads.

    /usr/bin/python3 scripts/pytorch_save.py SPEC OUT.safetensors [--steps N] [--count N] [--seed N]

SPEC is an architecture string ("cnn-small", or tokens such as
"conv3x3:8,bn,relu,maxpool2,flatten,dense:10"); the nn.Sequential comes from
pytorch_load.build, so its state_dict names and shapes are this project's.
The network trains N (default 20) Adam steps (learning rate --lr, default 0.01) of 64 images on the official
training set (so weights and batch-norm statistics are PyTorch's own), is
saved as safetensors (8-byte header length, JSON header with the
`__metadata__` the loader needs, raw little-endian tensors), and the
predicted classes and probabilities of the first `count` (default 200) test
images are printed as JSON (the tests compare them with the wasm module's).

Any nn.Sequential state_dict saved this way loads, as long as `arch` spells
the same modules: with the `safetensors` package,
    safetensors.torch.save_file(model.state_dict(), path, metadata=METADATA | {"arch": spec})
writes the same file."""
import argparse
import gzip
import json
import struct

import numpy as np
import torch
from torch import nn

from pytorch_load import build

NAMED = {
    "mlp": "flatten,dense:256,relu,dense:128,relu,dense:10",
    "cnn-small": "conv3x3:16,relu,conv3x3:32,relu,maxpool2,conv3x3:64,relu,maxpool2,flatten,dense:128,relu,dense:10",
}
CLASSES = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
DATA = "/usr/share/datasets/fashion-mnist"
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def read_idx(name, offset):
    with gzip.open(f"{DATA}/{name}.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def save_safetensors(state, path, metadata):
    """Writes a state_dict as safetensors: tensors in name order, header padded to 8 bytes."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(state):
        t = state[name].detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(chunks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-2)
    args = ap.parse_args()
    spec = NAMED.get(args.spec, args.spec)
    torch.manual_seed(args.seed)
    model = build(spec)

    images = read_idx("train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = read_idx("train-labels-idx1-ubyte", 8)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    model.train()
    for step in range(args.steps):
        i = slice(64 * step, 64 * step + 64)
        x = torch.from_numpy(images[i].astype(np.float32) / 255)  # normalization "x/255"
        loss = nn.functional.cross_entropy(model(x), torch.from_numpy(labels[i].astype(np.int64)))
        opt.zero_grad()
        loss.backward()
        opt.step()

    model.eval()
    save_safetensors(model.state_dict(), args.out, {
        "format": "pt", "arch": spec, "input": "1x28x28", "normalization": "x/255", "classes": CLASSES,
    })
    test = read_idx("t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[: args.count]
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(test.astype(np.float32) / 255)), dim=1)
    print(json.dumps({"arch": spec, "loss": float(loss), "predictions": probs.argmax(1).tolist(),
                      "probabilities": probs.tolist()}))


if __name__ == "__main__":
    main()
