#!/usr/bin/python3
"""Writes the reference models as ONNX (random init) for the ONNX Runtime Web
peer: /usr/bin/python3 bench/peers/export_onnx.py OUT_DIR"""
import sys

import torch
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                    nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(1))
mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                    nn.Linear(128, 10), nn.Softmax(1))
for name, net in (("cnn-small", cnn), ("mlp", mlp)):
    torch.onnx.export(net.eval(), torch.zeros(1, 1, 28, 28), f"{out}/{name}.onnx", input_names=["x"],
                      output_names=["p"], dynamic_axes={"x": {0: "n"}, "p": {0: "n"}}, opset_version=13)
