# Makefile: the wasm module (the product), the native build of the same
# sources (tests, sanitizers, fast training), tests and benchmarks.
# `make test` is the project's test command; build.sh installs what it needs.

SRC := $(shell find src -name '*.c' | sort)
FUZZ_TARGETS := idx safetensors spec image mapping state
HDR := $(shell find src include -name '*.h')
TEST_C := $(wildcard tests/c/*.c)

# libwebp's decoder (Debian's source, fetched and patched by
# scripts/fetch-libwebp.sh): the generic C files, plus the SSE2/SSE4.1 ones
# that only native x86 builds fill (in wasm they compile to nothing).
WEBP := build/thirdparty/libwebp
WEBP_SRC := $(addprefix $(WEBP)/src/, \
  $(addprefix dec/, alpha_dec.c buffer_dec.c frame_dec.c idec_dec.c io_dec.c quant_dec.c tree_dec.c \
    vp8_dec.c vp8l_dec.c webp_dec.c) \
  $(addprefix dsp/, alpha_processing.c alpha_processing_sse2.c alpha_processing_sse41.c cpu.c dec.c \
    dec_clip_tables.c dec_sse2.c dec_sse41.c filters.c filters_sse2.c lossless.c lossless_sse2.c \
    lossless_sse41.c rescaler.c rescaler_sse2.c upsampling.c upsampling_sse2.c upsampling_sse41.c yuv.c \
    yuv_sse2.c yuv_sse41.c) \
  $(addprefix utils/, bit_reader_utils.c color_cache_utils.c filters_utils.c huffman_utils.c \
    quant_levels_dec_utils.c random_utils.c rescaler_utils.c thread_utils.c utils.c))
ALL_SRC := $(SRC) $(WEBP_SRC)

# Every fm_* function declared in the public header is exported from wasm.
EXPORTS := $(shell scripts/wasm-exports.sh)

# emcc searches only its own sysroot: reach the two header-only Debian
# libraries (stb_image, jsmn) through a folder of links to them.
THIRD := build/thirdparty/.stamp
EMCC ?= emcc
# Hot code (kernels, layers, the forward/backward pass, training) is built
# for speed, everything else (parsers, decoders, model files) for size, and
# linked without LTO so each keeps its level, with emmalloc (allocations are
# never on a hot path): 147 KB instead of 197 KB at -O3
# throughout, with the same images/s. Cold code is built with -Oz: 0.5 KB
# less than -Os. The photo pipeline (src/image/photo.c) runs once per photo
# and again for each of a photo model's views: hot, 2.2 ms per validation
# photo in Node against 3.4 at -Oz (2.4 at -O2), for 14 KB of module.
# The photo and pair augmentations are per image, not per multiply: -Os (5 KB less).
HOT_SRC := $(filter-out src/train/augment_photo.c src/train/augment_pair.c,$(filter src/kernels/% src/layers/% src/net/network.c src/train/% src/image/photo.c,$(SRC)))
COLD_SRC := $(filter-out $(HOT_SRC),$(SRC))
WASM_CFLAGS := -std=c11 -D_GNU_SOURCE -msimd128 -Iinclude -Ibuild/thirdparty -I$(WEBP) -DNDEBUG
WASM_OBJ := $(patsubst src/%.c,build/wasm-obj/%.o,$(SRC)) $(patsubst $(WEBP)/src/%.c,build/wasm-obj/webp/%.o,$(WEBP_SRC))
EMFLAGS := -Os -msimd128 -sMALLOC=emmalloc -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=16MB \
  -sMAXIMUM_MEMORY=2GB -sTOTAL_STACK=1MB -sERROR_ON_UNDEFINED_SYMBOLS=1 \
  -sEXPORTED_FUNCTIONS=$(EXPORTS)
# Emscripten 3.1.6's JS optimiser needs acorn from Debian's node modules.
export NODE_PATH := /usr/share/nodejs

# Tests and sanitizers build with gcc; the fast native binaries (training,
# benchmarks) with clang, which keeps SIMDe's wasm-intrinsic wrappers in
# registers far better (cnn-small training: 742 vs 584 images/s here).
CC := gcc
FASTCC := $(shell command -v clang >/dev/null && echo clang || echo gcc)
CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -I$(WEBP) -Wall -Wextra -Wno-unused-parameter -march=x86-64-v3
# -ffp-contract=off: wasm has no fused multiply-add, so a native build that
# fused a * b + c in scalar code (clang does by default) would round
# differently; the int16 inference's quantiser turns such a last-bit
# difference into a different grid step now and then (one test image in
# 10,000 for cnn-photo), and the two builds must predict the same classes.
NATIVE_OPT := -O3 -DNDEBUG -fno-math-errno -ffp-contract=off
SAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: all wasm native test bench models serve fuzz clean
all: wasm native

wasm: build/fmnist.wasm
native: build/native/libfmnist.a build/native/test_core build/native/test_core_asan \
  $(FUZZ_TARGETS:%=build/fuzz/replay_%) \
  build/native/fmnist-train build/native/fmnist-bench build/native/fmnist-eval

$(THIRD): $(WEBP)/.patched
	@mkdir -p build/thirdparty
	ln -sfn /usr/include/stb build/thirdparty/stb
	ln -sfn /usr/include/jsmn.h build/thirdparty/jsmn.h
	@touch $@

# The sources exist once fetched; order-only, so their old dates stand.
$(WEBP_SRC) $(WEBP)/src/webp/decode.h: | $(WEBP)/.patched
$(WEBP)/.patched: scripts/fetch-libwebp.sh
	scripts/fetch-libwebp.sh $(WEBP)

$(filter $(patsubst src/%.c,build/wasm-obj/%.o,$(HOT_SRC)),$(WASM_OBJ)): build/wasm-obj/%.o: src/%.c $(HDR) $(THIRD)
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -O3 -c $< -o $@
$(filter $(patsubst src/%.c,build/wasm-obj/%.o,$(COLD_SRC)),$(WASM_OBJ)): build/wasm-obj/%.o: src/%.c $(HDR) $(THIRD)
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -Oz -c $< -o $@

build/wasm-obj/webp/%.o: $(WEBP)/src/%.c | $(WEBP)/.patched
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -Oz -c $< -o $@

build/fmnist.wasm: $(WASM_OBJ)
	$(EMCC) $(EMFLAGS) $(WASM_OBJ) -o $@

build/native/libfmnist.a: $(ALL_SRC) $(HDR)
	@mkdir -p build/native/obj
	@rm -f $@
	for f in $(ALL_SRC); do $(FASTCC) $(CFLAGS) $(NATIVE_OPT) -c $$f -o build/native/obj/$$(echo $$f | tr / _).o || exit 1; done
	ar rcs $@ build/native/obj/*.o

build/native/fmnist-%: native/%.c native/read_file.h build/native/libfmnist.a include/fmnist.h
	$(FASTCC) $(CFLAGS) $(NATIVE_OPT) $< build/native/libfmnist.a -lm -lpthread -o $@

# C tests of kernels and layers: natively, under ASan + UBSan, and as wasm
# run by Node's WASI (so the SIMD kernels are checked in both builds).
build/native/test_core: $(TEST_C) $(ALL_SRC) $(HDR)
	@mkdir -p build/native
	$(CC) $(CFLAGS) -O2 -Isrc $(TEST_C) $(ALL_SRC) -lm -lpthread -o $@
build/native/test_core_asan: $(TEST_C) $(ALL_SRC) $(HDR)
	@mkdir -p build/native
	$(CC) $(CFLAGS) $(SAN) -Isrc $(TEST_C) $(ALL_SRC) -lm -lpthread -o $@
build/test_core.wasm: $(TEST_C) $(ALL_SRC) $(HDR) $(THIRD)
	$(EMCC) -std=c11 -D_GNU_SOURCE -O2 -msimd128 -Iinclude -Ibuild/thirdparty -I$(WEBP) -Isrc -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH \
	  -sERROR_ON_UNDEFINED_SYMBOLS=1 $(TEST_C) $(ALL_SRC) -o $@

test: 
	./build.sh
	$(MAKE) build/test_core.wasm
	node --test tests/

# Per-kernel speed against the core's peak (bench/kernels.c), as wasm and natively.
KBENCH := bench/kernels.c src/kernels/gemm.c src/kernels/gemm_q16.c src/layers/winograd.c src/layers/winograd4.c src/common.c
build/bench_kernels.wasm: $(KBENCH) $(HDR)
	$(EMCC) -std=gnu11 -D_GNU_SOURCE -O3 -msimd128 -Iinclude -Isrc -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH $(KBENCH) -o $@
build/native/bench_kernels: $(KBENCH) $(HDR)
	@mkdir -p build/native
	$(FASTCC) -std=gnu11 -D_GNU_SOURCE -march=x86-64-v3 $(NATIVE_OPT) -Iinclude -Isrc $(KBENCH) -lm -o $@

# Whole models against the peers, this build against the previous commit's
# (bench/ab.mjs builds that one), then kernels, then the page (evaluation,
# training with one and two workers).
bench:
	./build.sh
	$(MAKE) build/bench_kernels.wasm build/native/bench_kernels
	node bench/bench.mjs
	node bench/ab.mjs
	node --no-warnings bench/kernels.mjs
	node bench/page.mjs

# The demo page on http://127.0.0.1:8080/ (PORT=... to change).
serve:
	./build.sh
	node scripts/serve.mjs

# Coverage-guided fuzzing (libFuzzer, clang, ASan + UBSan) of every parser
# and decoder, FUZZ_SECONDS each. Findings land in build/fuzz/artifacts/;
# keep each one in fuzz/regressions/TARGET/ (make test replays them).
FUZZ_SECONDS ?= 600
FUZZ_FLAGS := -DFM_MAX_IMAGE_PIXELS=1048576 -std=c11 -D_GNU_SOURCE -Iinclude -I$(WEBP) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build/fuzz/fuzz_%: fuzz/fuzz_%.c $(ALL_SRC) $(HDR)
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) $< $(ALL_SRC) -lm -lpthread -o $@
# The same targets with a plain main() under gcc's ASan + UBSan, for replay.
build/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(ALL_SRC) $(HDR)
	@mkdir -p build/fuzz
	$(CC) $(CFLAGS) $(SAN) $< fuzz/replay.c $(ALL_SRC) -lm -lpthread -o $@
fuzz: wasm $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	node scripts/make-fuzz-seeds.mjs build/fuzz/corpus
	@mkdir -p build/fuzz/artifacts
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t fuzz/regressions/$$t; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2560 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/artifacts/$$t- build/fuzz/corpus/$$t fuzz/regressions/$$t 2>&1 | \
	    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)' | sed "s/^/$$t: /"; \
	done
	@ls build/fuzz/artifacts | sed 's/^/finding: /' || true

# Retrains every shipped model with its recorded command (resumable).
models:
	./build.sh
	scripts/train-models.sh

clean:
	rm -rf build
