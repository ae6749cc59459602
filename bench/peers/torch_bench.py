#!/usr/bin/python3
"""PyTorch (Debian python3-torch) on the reference models, one thread:
training images/s (Adam, batch 64: 10 warm-up batches, then 12,800 images
timed), inference images/s (batch 256) and the latency of one image. Prints
one JSON line. Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
(bench/bench.mjs does): OpenBLAS picks its own kernels and is faster so.
usage: /usr/bin/python3 bench/peers/torch_bench.py <cnn-small|mlp>"""
import gzip
import json
import sys
import time

import numpy as np
import torch
from torch import nn

arch = sys.argv[1] if len(sys.argv) > 1 else "cnn-small"
torch.set_num_threads(1)
torch.manual_seed(0)
D = "/usr/share/datasets/fashion-mnist"
read = lambda n, off: np.frombuffer(gzip.open(f"{D}/{n}.gz").read(), np.uint8, offset=off)
WARM, TIMED = 640, 12800
x = torch.tensor(read("train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[:WARM + TIMED] / 255.0, dtype=torch.float32)
y = torch.tensor(read("train-labels-idx1-ubyte", 8)[:WARM + TIMED].astype(np.int64))
xt = torch.tensor(read("t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
if arch == "cnn-small":
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
else:
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(net.parameters(), 1e-3)
loss_fn = nn.CrossEntropyLoss()
def step(i):
    opt.zero_grad()
    loss_fn(net(x[i:i + 64]), y[i:i + 64]).backward()
    opt.step()
for i in range(0, WARM, 64):
    step(i)
t0 = time.perf_counter()
for i in range(WARM, WARM + TIMED, 64):
    step(i)
train_rate = TIMED / (time.perf_counter() - t0)
net.eval()
with torch.no_grad():
    net(xt[:256])
    t0 = time.perf_counter()
    for i in range(0, 10000, 256):
        net(xt[i:i + 256])
    infer_rate = 10000 / (time.perf_counter() - t0)
    for i in range(20):
        net(xt[i:i + 1])
    t0 = time.perf_counter()
    for i in range(200):
        net(xt[i:i + 1])
    latency = (time.perf_counter() - t0) / 200 * 1000
print(json.dumps({"peer": "pytorch-" + torch.__version__.split("+")[0], "arch": arch, "train_images_per_sec": train_rate,
                  "infer_images_per_sec": infer_rate, "latency_ms": latency}))
