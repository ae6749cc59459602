#!/usr/bin/python3
"""An independent check of a model's test accuracy: PyTorch, not this project's
C code, runs the file on the official 10,000 test images.

    /usr/bin/python3 scripts/pytorch_eval.py models/cnn-res.safetensors

prints one JSON line: the accuracy of the image alone and, when the file asks
for test-time views (metadata "tta" and "views_below"), the accuracy with
them, re-implemented here from their definition (src/net/predict.c): an image
whose top class is under views_below on its own is decided by the mean of the
probabilities of the image and its mirror image ("mirror"), or of the image
and the image moved one pixel left and right, zeros coming in ("shift").
The network is rebuilt from the file by scripts/pytorch_load.py."""
import gzip
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_load import build, load_safetensors  # noqa: E402

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name, offset):
    """An IDX file's payload, gzipped (Debian's layout) or raw."""
    path = os.path.join(DATA, name)
    f = gzip.open(path + ".gz") if os.path.exists(path + ".gz") else open(path, "rb")
    with f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def shifted(x, dx):
    """x moved dx pixels along the row (out[.., c] = in[.., c + dx]), zeros coming in."""
    out = torch.zeros_like(x)
    if dx > 0:
        out[..., : -dx] = x[..., dx:]
    else:
        out[..., -dx:] = x[..., :dx]
    return out


def main():
    path = sys.argv[1]
    meta, state = load_safetensors(path)
    model = build(meta["arch"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    images = read_idx("t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte", 8).astype(np.int64))
    x = torch.from_numpy(images.astype(np.float32) / 255)  # normalization "x/255"
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
        right = lambda p: int((p.argmax(1) == labels).sum())  # noqa: E731
        result = {"model": os.path.basename(path), "images": len(labels),
                  "image_alone": right(probs) / len(labels)}
        views, below = meta.get("tta", "none"), float(meta.get("views_below", 0.9))
        if views in ("mirror", "shift"):
            others = [torch.flip(x, dims=[3])] if views == "mirror" else [shifted(x, 1), shifted(x, -1)]
            unsure = probs.max(1).values < below
            mean = probs.clone()
            for v in others:
                mean += torch.softmax(model(v), dim=1)
            mean /= 1 + len(others)
            final = torch.where(unsure[:, None], mean, probs)
            result.update({"views": views, "views_below": below, "images_with_views": int(unsure.sum()),
                           "with_views": right(final) / len(labels)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
