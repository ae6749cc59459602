#!/usr/bin/python3
"""Loads one of this project's safetensors models into a PyTorch nn.Sequential.

    /usr/bin/python3 scripts/pytorch_load.py models/cnn-bn.safetensors [N]

prints the model, then the predicted classes and probabilities of the first N
(default 100) official test images as JSON (the tests compare them with the
wasm module's). Uses the `safetensors` package when installed, else the
ten-line reader below (the format is 8 bytes of header length, a JSON
header, raw little-endian tensors)."""
import gzip
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def load_safetensors(path):
    """Returns (metadata, state_dict) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    state = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        array = np.frombuffer(data[8 + n + begin : 8 + n + end], dtype=dtypes[t["dtype"]])
        state[name] = torch.from_numpy(array.reshape(t["shape"]).copy())
    return meta, state


class Skip(nn.Identity):
    """`skip`: where a residual connection starts (its input is kept)."""


class Add(nn.Identity):
    """`add`: adds the input kept by the latest open `skip`."""


class Residual(nn.Sequential):
    """nn.Sequential whose forward also runs the `skip`/`add` shortcuts, so a
    spec with residual blocks keeps one flat list of modules and the
    state_dict names ("4.weight") of a plain nn.Sequential."""

    def forward(self, x):
        kept = []
        for module in self:
            if isinstance(module, Skip):
                kept.append(x)
            elif isinstance(module, Add):
                x = x + kept.pop()
            else:
                x = module(x)
        return x


def build(spec, in_channels=1, side=28):
    """The nn.Sequential that a spec string describes (see src/net/spec.c)."""
    layers, c, hw, flat = [], in_channels, side, False
    for tok in spec.split(","):
        if tok.startswith("conv"):
            k = int(tok[4 : tok.index("x")])
            out = int(tok.split(":")[1])
            layers.append(nn.Conv2d(c, out, k, padding=k // 2))
            c = out
        elif tok.startswith("dense:"):
            out = int(tok.split(":")[1])
            layers.append(nn.Linear(c, out))
            c = out
        elif tok == "relu":
            layers.append(nn.ReLU())
        elif tok == "maxpool2":
            layers.append(nn.MaxPool2d(2))
            hw //= 2
        elif tok == "bn":
            layers.append(nn.BatchNorm1d(c) if flat else nn.BatchNorm2d(c))
        elif tok.startswith("dropout:"):
            layers.append(nn.Dropout(float(tok.split(":")[1])))
        elif tok == "gap":
            layers.append(nn.AdaptiveAvgPool2d(1))
            hw = 1
        elif tok == "flatten":
            layers.append(nn.Flatten())
            c, flat = c * hw * hw, True
        elif tok == "skip":
            layers.append(Skip())
        elif tok == "add":
            layers.append(Add())
        else:
            raise ValueError(f"unknown module {tok}")
    residual = any(isinstance(m, Skip) for m in layers)
    return Residual(*layers) if residual else nn.Sequential(*layers)


def main():
    path = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    try:
        from safetensors.torch import load_file

        state = load_file(path)
        meta, _ = load_safetensors(path)
    except ImportError:
        meta, state = load_safetensors(path)
    model = build(meta["arch"])
    model.load_state_dict(state)  # strict: every name and shape must match
    model.eval()
    print(model, file=sys.stderr)
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    x = torch.from_numpy(images.astype(np.float32) / 255)  # normalization "x/255"
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    print(json.dumps({"classes": meta["classes"].split(","), "predictions": probs.argmax(1).tolist(),
                      "probabilities": probs.tolist()}))


if __name__ == "__main__":
    main()
