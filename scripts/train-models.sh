#!/usr/bin/env bash
# train-models.sh (`make models`): retrains every shipped model from scratch
# with its recorded command, then writes its card. Runs natively (the same C
# sources as the wasm module) on all cores. Each run checkpoints every epoch
# under build/ckpt/ and resumes from there when interrupted: run it again.
# MODELS="mlp cnn-small" limits it to some models.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
TRAIN=build/native/fmnist-train
mkdir -p build/ckpt

# name | default? | flags (the exact recipe; hyper-parameters were chosen on a
# 5,000-image validation split held out of the training set, never on test)
RECIPES=(
  "mlp|no|--arch mlp --epochs 5 --batch 64 --optimizer adam --lr 1e-3 --seed 0"
  "cnn-small|no|--arch cnn-small --epochs 3 --batch 64 --optimizer adam --lr 1e-3 --seed 0"
  "cnn-bn|yes|--arch cnn-bn --epochs 25 --batch 64 --optimizer sgd --lr 0.05 --momentum 0.9 --nesterov --weight-decay 5e-4 --schedule cosine --warmup-epochs 1 --augment-shift 2 --augment-flip --augment-erase 0.3 --holdout 5000 --seed 1"
)

for recipe in "${RECIPES[@]}"; do
  IFS='|' read -r name default flags <<<"$recipe"
  if [ -n "${MODELS:-}" ] && [[ " $MODELS " != *" $name "* ]]; then continue; fi
  echo "== $name: $flags" >&2
  # shellcheck disable=SC2086
  $TRAIN $flags --threads "$THREADS" --checkpoint "build/ckpt/$name" --out "models/$name.safetensors"
  node scripts/model-card.mjs "models/$name.safetensors" $([ "$default" = yes ] && echo --default)
done
