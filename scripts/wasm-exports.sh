#!/bin/sh
# Prints the wasm export list: every fm_* function declared in the public
# header, plus malloc/free, in emcc's -sEXPORTED_FUNCTIONS syntax.
grep -o '\bfm_[a-z0-9_]*(' "$(dirname "$0")/../include/fmnist.h" | tr -d '(' | sort -u |
  sed 's/^/_/' | { paste -sd, -; } | sed 's/$/,_malloc,_free/'
