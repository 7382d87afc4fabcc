# Thin wrapper over CMake + Ninja. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Paths relative to the checkout, so a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
export CCACHE_MAXSIZE ?= 5G
CMAKE_COMMON := -G Ninja -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPython3_EXECUTABLE=/usr/bin/python3

.PHONY: all setup build test test-unit test-asan test-fuzz fuzz demo bench bench-embed bench-e2e bench-coldstart bench-peers \
  format format-check clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEML_WERROR=ON

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DEML_WERROR=ON \
	  -DEML_ASAN=ON -DEML_UBSAN=ON -DEML_BUILD_BENCH=OFF -DEML_NATIVE=OFF

test-asan: setup $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE no-asan

$(FUZZ_BUILD)/build.ninja:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) $(CMAKE_COMMON) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEML_WERROR=ON -DEML_FUZZ=ON -DEML_BUILD_BENCH=OFF

# Bounded fuzzing of every target (FUZZ_SECONDS each); `make fuzz FUZZ_SECONDS=600` for longer.
test-fuzz fuzz: setup $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: format-check test-unit test-asan test-fuzz
	@echo "make test: all suites passed"

demo: build
	scripts/demo $(BUILD)

bench: build
	scripts/run-benchmarks $(BUILD)

# End-to-end embedding harness (bench/embed): latency percentiles, throughput, peak RSS per
# precision -> bench/results/embed.json. Builds only what it runs.
bench-embed: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) --target embed_bench -j $(JOBS)
	$(BUILD)/bench/embed_bench --out bench/results/embed.json

# The runtime end to end (bench/e2e): handshake, batch-1 latency through the host vs in process,
# the channel + receipt overhead, throughput and p99 at 1-64 sessions, enclave peak RSS ->
# bench/results/e2e.json (PRECISION=bf16 or int8: e2e-PRECISION.json). Builds only what it runs.
PRECISION ?= fp32
E2E_OUT = bench/results/e2e$(if $(filter fp32,$(PRECISION)),,-$(PRECISION)).json
bench-e2e: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) --target e2e_bench ephemeralml-enclave -j $(JOBS)
	$(BUILD)/bench/e2e_bench --enclave $(BUILD)/apps/ephemeralml-enclave --threads 2 \
	  --ab-rounds 0 --precision $(PRECISION) --out $(E2E_OUT)

# Enclave cold start (bench/coldstart): `ephemeralml up`, then repeated boots of the same package
# (through the host's proxies and straight from the file store), medians per step ->
# bench/results/coldstart.json. Builds only what it runs.
bench-coldstart: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) --target ephemeralml ephemeralml-enclave -j $(JOBS)
	/usr/bin/python3 bench/coldstart/coldstart.py --build $(BUILD) --out bench/results/coldstart.json

# Us vs ONNX Runtime (and sentence-transformers when importable) on the same inputs, in one run:
# ratios of medians -> bench/results/peers.json. Exports model.onnx first when missing.
bench-peers: build
	.venv/bin/python scripts/bench-peers.py --build $(BUILD)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format-14 -i

format-check: setup
	git ls-files '*.cc' '*.h' | xargs clang-format-14 --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
