#!/usr/bin/env bash
# build.sh: installs whatever is missing on a fresh Debian machine, then builds.
# Idempotent and quick when nothing changed: apt and npm run only when a
# needed file is absent, make rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# What we need, as "file-that-proves-it package". python3-torch is for the
# tests (our models in PyTorch and back); it belongs to Debian's
# /usr/bin/python3, which the tests call by that path. curl, patch and xz
# fetch libwebp's source (scripts/fetch-libwebp.sh); webp's cwebp and dwebp
# write the tests' WebP files and are the reference decoder they compare to.
needs=(
  "/usr/bin/emcc emscripten"
  "/usr/include/simde/wasm/simd128.h libsimde-dev"
  "/usr/include/jsmn.h libjsmn-dev"
  "/usr/include/stb/stb_image.h libstb-dev"
  "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz dataset-fashion-mnist"
  "/usr/bin/gcc gcc"
  "/usr/bin/clang clang"
  "/usr/bin/chromium chromium"
  "/usr/lib/python3/dist-packages/torch/__init__.py python3-torch"
  "/usr/bin/make make"
  "/usr/bin/curl curl"
  "/usr/bin/patch patch"
  "/usr/bin/xz xz-utils"
  "/usr/bin/cwebp webp"
)
missing=()
for n in "${needs[@]}"; do
  [ -e "${n%% *}" ] || missing+=("${n##* }")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
if ! command -v node >/dev/null; then
  echo "build.sh: installing nodejs" >&2
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >&2
fi

# npm packages (dev tools: browser driver, peers for benchmarks), only when the
# lockfile changed since the last install.
stamp=node_modules/.fmnist-npm-ci
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "build.sh: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  mkdir -p node_modules && touch "$stamp"
fi

make -s -j2 all >&2
