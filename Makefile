# autorun — set-up and tests. `make test` works from a fresh clone: it installs the npm packages,
# builds (or reuses) the Go-built control plane, and runs unit, agent e2e and integration tests.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
TOOLS_BIN = $(shell hack/build-tools.sh)

.PHONY: all deps tools sandbox build generate lint test test-unit test-e2e test-integration cluster bench clean

all: build

# `npm ci`: exactly the committed lock. unrs-resolver is pinned by an override in package.json to a
# release whose every platform binding this registry serves; without that the lock lacks some and
# `npm ci` refuses it.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@node --version | grep -q '^v24\.' || { echo "node_modules/.bin/node is not Node 24: the node@24 install script did not run (npm install-scripts ls)"; exit 1; }
	@touch $@

deps: node_modules/.installed

# bubblewrap: the sandbox of the commands a model runs and of the tests (operator/src/agent/sandbox.ts),
# and what the tests of it run. Installed from Debian when missing (a few seconds; once per machine).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1 || \
	  { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends bubblewrap; }; }
	@bwrap --version >/dev/null

tools:
	@hack/build-tools.sh

build: deps
	npm run build

generate: deps
	npm run generate

lint: deps
	node scripts/generate.mjs --check
	npm run lint

test: deps sandbox build
	@export AUTORUN_TOOLS_BIN="$$(hack/build-tools.sh)" && npm test -- --ci

test-unit: deps sandbox
	npm run test:unit -- --ci

test-e2e: deps sandbox build
	npm test -- --ci --selectProjects e2e

test-integration: deps build
	@export AUTORUN_TOOLS_BIN="$$(hack/build-tools.sh)" && npm run test:integration -- --ci

# A control plane with 16 fake L4 nodes for a person to use; prints the KUBECONFIG to export.
cluster: deps build
	@export AUTORUN_TOOLS_BIN="$$(hack/build-tools.sh)" && node dist/test/harness/cluster-cli.js up

bench: deps build
	@export AUTORUN_TOOLS_BIN="$$(hack/build-tools.sh)" && npm run bench

clean:
	rm -rf dist node_modules .autorun
