# The webhook intake: two Lambda functions (artemis, amlyze) that validate
# vendor callbacks and put them on SQS.   make help   lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PIP ?= python3 -m pip
PORT ?= 9000
URL ?= http://127.0.0.1:$(PORT)

.PHONY: help tools test lint build build-lambda demo local replay invoke-artemis invoke-amlyze deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

tools: ## install what the tests need (moto server, cfn-lint) when missing
	@command -v moto_server >/dev/null && command -v cfn-lint >/dev/null \
		|| $(PIP) install --quiet -r scripts/requirements-test.txt
	@command -v moto_server >/dev/null || { echo "moto_server is not on PATH after install"; exit 1; }

test: tools lint ## everything CI checks: format, clippy, unit, integration (moto), fixtures, end-to-end
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

build: ## release build of both functions for this machine
	$(CARGO) build --release --bin artemis --bin amlyze

demo: tools ## the main job locally: moto + both functions, replay every fixture, print what landed where
	$(CARGO) build --bin artemis --bin amlyze --bin local-stack
	$(CARGO) run --quiet --bin local-stack -- --replay

local: tools ## keep the local stack running on http://127.0.0.1:$(PORT) for curl (Ctrl-C stops it)
	$(CARGO) build --bin artemis --bin amlyze --bin local-stack
	PORT=$(PORT) $(CARGO) run --quiet --bin local-stack

replay: ## post every fixture's raw HTTP request to URL (default: the local stack)
	python3 scripts/replay.py $(URL)

clean: ## remove build output and local logs
	$(CARGO) clean
	rm -rf .local .aws-sam
