#!/usr/bin/env bash
# train-models.sh (`make models`): retrains every shipped model from scratch
# with its recorded command, then writes its card. Runs natively (the same C
# sources as the wasm module) on all cores. Each run checkpoints every epoch
# under build/ckpt/ and resumes from there when interrupted: run it again.
# MODELS="mlp cnn-small" limits it to some models.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
TRAIN=${TRAIN:-build/native/fmnist-train} # a copy keeps a long run safe from rebuilds
mkdir -p build/ckpt

# name | default? (yes or no) | flags (the exact recipe; hyper-parameters were chosen on a
# 5,000-image validation split held out of the training set, never on test)
# | test-time views (fmnist views --set, and --below for their threshold; chosen on that
# validation split too)
# | the shipped file's weights, F16 (float16, half the size) or F32 (the default).
# A name with a "~" is an intermediate stage: it goes to build/ckpt/ and the
# next stage starts from it (--init); only the last stage is shipped.
# cnn-bn: 25 epochs from scratch, a second cosine cycle (validation 94.38% ->
# 94.64%), then a third, shorter one on all 60,000 training images; run with
# the "shift" views (validation, stage 2's weights: 94.64% -> 94.92%).
# cnn-res: a 30-epoch cosine cycle with label smoothing (validation 95.40%),
# a second of 20 (95.52%), then a third on all 60,000 training images, as for
# cnn-bn; the "mirror" views for images under 0.7 (validation, stage 2's
# weights: the image alone 95.52%, the two shifts 95.58%, its mirror 95.82%,
# both 95.76%; under 0.7, 8% of the images need the extra pass); stored as
# float16.
CNN_BN_AUG="--batch 64 --optimizer sgd --momentum 0.9 --nesterov --weight-decay 5e-4 --schedule cosine --augment-shift 2 --augment-flip --augment-erase 0.3"
RECIPES=(
  "mlp|no|--arch mlp --epochs 5 --batch 64 --optimizer adam --lr 1e-3 --seed 0"
  "cnn-small|no|--arch cnn-small --epochs 3 --batch 64 --optimizer adam --lr 1e-3 --seed 0"
  "cnn-bn~1|no|--arch cnn-bn --epochs 25 $CNN_BN_AUG --lr 0.05 --warmup-epochs 1 --holdout 5000 --seed 1"
  "cnn-bn~2|no|--init build/ckpt/cnn-bn~1-final.safetensors --epochs 15 $CNN_BN_AUG --lr 0.02 --warmup-epochs 0 --holdout 5000 --seed 2"
  "cnn-bn|yes|--init build/ckpt/cnn-bn~2-final.safetensors --epochs 8 $CNN_BN_AUG --lr 0.01 --warmup-epochs 0 --holdout 0 --seed 6|shift"
  "cnn-res~1|no|--arch cnn-res --epochs 30 $CNN_BN_AUG --label-smoothing 0.1 --lr 0.05 --warmup-epochs 1 --holdout 5000 --seed 1"
  "cnn-res~2|no|--init build/ckpt/cnn-res~1-final.safetensors --epochs 20 $CNN_BN_AUG --label-smoothing 0.1 --lr 0.02 --warmup-epochs 0 --holdout 5000 --seed 2"
  "cnn-res|no|--init build/ckpt/cnn-res~2-final.safetensors --epochs 8 $CNN_BN_AUG --label-smoothing 0.1 --lr 0.01 --warmup-epochs 0 --holdout 0 --seed 6|mirror --below 0.7|F16"
)

for recipe in "${RECIPES[@]}"; do
  IFS='|' read -r name default flags views dtype <<<"$recipe"
  if [ -n "${MODELS:-}" ] && [[ " $MODELS " != *" ${name%%~*} "* ]]; then continue; fi
  echo "== $name: $flags" >&2
  out="models/$name.safetensors"
  [[ $name == *~* ]] && out="build/ckpt/$name-final.safetensors"
  if [[ $name == *~* && -f $out ]]; then continue; fi # a finished stage
  # Checkpoints are named by the recipe too: a changed recipe starts afresh
  # instead of resuming an older one's run.
  ckpt="build/ckpt/$name-$(printf %s "$flags" | sha256sum | cut -c1-8)"
  # shellcheck disable=SC2086
  $TRAIN $flags --threads "$THREADS" --checkpoint "$ckpt" --out "$out"
  # shellcheck disable=SC2086 # $views may hold --below P too
  [ -z "$views" ] || node bin/fmnist.mjs views --model "$out" --set $views --dtype "${dtype:-F32}"
  [[ $name == *~* ]] || node scripts/model-card.mjs "$out" $([ "$default" = yes ] && echo --default)
done

# The photo model (docs/photos.md): cnn-bn fine-tuned on real photos mixed
# with Fashion-MNIST. Needs the photos: PHOTOS=DIR make models, DIR a folder
# of class folders (such as ../shared/photos/clothing-train, or a clone of
# github.com/alexeygrigorev/clothing-dataset-small's train/ folder) listed in
# photos/clothing-dataset-small.json. First the recipe's 5-fold
# cross-validation on those photos (each fold model answers the photos it
# never saw: scripts/photo-cv.mjs), which also sets the doubt thresholds;
# then the shipped model on all of them.
PHOTO_FLAGS="--init models/cnn-bn.safetensors --photo-ratio 0.75 --batch 64 --optimizer sgd --momentum 0.9 --nesterov --lr 0.02 --schedule cosine --epochs 6 --limit 5000 --augment-shift 2 --augment-flip --augment-photo 0.3 --seed 0 --photo-jitters 5 --photo-views 5 --photo-balance 1"
PHOTO_FOLDS=5
# Checkpoints and fold reports are named by the recipe: a changed recipe
# starts afresh instead of resuming the old one's.
TAG="build/ckpt/cnn-photo-$(printf %s "$PHOTO_FLAGS" | sha256sum | cut -c1-8)"
if [ -n "${MODELS:-}" ] && [[ " $MODELS " != *" cnn-photo "* ]]; then exit 0; fi
if [ -z "${PHOTOS:-}" ] || [ ! -d "${PHOTOS}" ]; then
  echo "== cnn-photo: skipped: no photos (PHOTOS=DIR make models, DIR a folder of class folders such as ../shared/photos/clothing-train)" >&2
  exit 0
fi
reports=()
for ((k = 0; k < PHOTO_FOLDS; k++)); do
  fold="$TAG-fold$k"
  reports+=("$fold.jsonl")
  [ -f "$fold.jsonl" ] && continue # a finished fold
  echo "== cnn-photo, cross-validation fold $k of $PHOTO_FOLDS" >&2
  # shellcheck disable=SC2086
  $TRAIN $PHOTO_FLAGS --photos "$PHOTOS" --photo-fold "$k/$PHOTO_FOLDS" --photo-report "$fold.jsonl.tmp" \
    --threads "$THREADS" --checkpoint "$fold" --out "$fold-final.safetensors"
  mv "$fold.jsonl.tmp" "$fold.jsonl"
done
echo "== cnn-photo: $PHOTO_FLAGS --photos $PHOTOS" >&2
# shellcheck disable=SC2086
$TRAIN $PHOTO_FLAGS --photos "$PHOTOS" --threads "$THREADS" --checkpoint "$TAG" --out "$TAG-final.safetensors"
node scripts/photo-cv.mjs --json "$TAG-cv.json" --apply "$TAG-final.safetensors" "${reports[@]}"
cp "$TAG-final.safetensors" models/cnn-photo.safetensors
node scripts/model-card.mjs models/cnn-photo.safetensors --photo --photo-cv "$TAG-cv.json" --photos-dir "$PHOTOS"
