# The webhook intake: two Lambda functions (artemis, amlyze) that validate
# vendor callbacks and put them on SQS.   make help   lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PIP ?= python3 -m pip
PORT ?= 9000
URL ?= http://127.0.0.1:$(PORT)
# Python tools live in two project environments (their pins conflict): test
# tools (moto server, cfn-lint) and build tools (SAM CLI, cargo-lambda, zig).
# Tools already on PATH are used as they are.
TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS)/test/bin:$(TOOLS)/sam/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# The function binaries: one crate per vendor under functions/.
FUNCTIONS := $(notdir $(wildcard functions/*))
FUNCTION_BINS := $(addprefix --bin ,$(FUNCTIONS))
# The webhook functions (the vendors' front doors), without the reference consumer.
WEBHOOK_FUNCTIONS := $(filter-out customer-state,$(FUNCTIONS))


.PHONY: drill static-checks checkov-tools bench-capacity docs metrics history help verify tools sam-tools deny-tools deny test lint validate build build-lambda check-lambda demo local replay recover redrive load schemas fuzz fuzz-tools fuzz-smoke bench bench-python invoke-artemis invoke-amlyze deploy lambda-bootstraps deploy-cargo-lambda cargo-lambda-policy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

CHECKOV_ENV := $(TOOLS)/checkov
# The RustSec advisory database, offline: the folder of a snapshot (holding
# SNAPSHOT), relative to the repository's root or absolute. CI gives it
# (.ci/run); without it `make deny` says loudly that advisories were not
# checked, and fails under CI=true.
ADVISORY_DB ?=
CARGO_DENY_VERSION := 0.20.2

tools: ## install what the local stack and the tests need (moto server, cfn-lint, boto3 and jsonschema for the Python reader) when missing
	@command -v moto_server >/dev/null && command -v cfn-lint >/dev/null && python3 -c 'import boto3, jsonschema' 2>/dev/null || { \
		echo "installing test tools into .tools/test"; \
		python3 -m venv $(TOOLS)/test && $(TOOLS)/test/bin/pip install --quiet -r scripts/requirements-test.txt; }

checkov-tools: ## checkov and the SAM translator (make validate), when missing
	@test -x $(CHECKOV_ENV)/bin/checkov && $(CHECKOV_ENV)/bin/python -c 'import samtranslator' 2>/dev/null || { \
		echo "installing checkov and the SAM translator into .tools/checkov"; \
		python3 -m venv $(CHECKOV_ENV) && $(CHECKOV_ENV)/bin/pip install --quiet -r scripts/requirements-checkov.txt; }

deny-tools: ## cargo-deny, when missing
	@command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --version $(CARGO_DENY_VERSION)

# cargo-deny reads the database for its default URL from this folder, as a git
# checkout (it asks git for the last commit's date): the snapshot is committed
# there with the snapshot's own date, so staleness is judged from that.
ADVISORY_CHECKOUT := $(TOOLS)/advisory-dbs/advisory-db-3157b0e258782691

deny: deny-tools ## cargo deny: advisories (offline snapshot, ADVISORY_DB; its date and age printed; the fuzz workspace too), licenses, sources, bans (deny.toml); without the snapshot: loud, and a failure under CI=true
	@$(CARGO) fetch --quiet
	@$(CARGO) fetch --quiet --manifest-path fuzz/Cargo.toml
	@if [ -z "$(ADVISORY_DB)" ] || [ ! -f "$(ADVISORY_DB)/SNAPSHOT" ]; then \
		echo "!!! ADVISORIES NOT CHECKED: $(if $(ADVISORY_DB),no RustSec snapshot at $(abspath $(ADVISORY_DB)),ADVISORY_DB is not set) (ADVISORY_DB=<folder of a RustSec advisory-db snapshot>); licenses, sources and bans still are !!!"; \
		$(CARGO) deny --offline check licenses sources bans || exit 1; \
		if [ "$${CI:-}" = true ]; then echo "CI=true: the advisory check is required; failing"; exit 1; fi; \
	else \
		date=$$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' $(ADVISORY_DB)/SNAPSHOT | head -1); \
		cmp -s $(ADVISORY_DB)/SNAPSHOT $(ADVISORY_CHECKOUT)/SNAPSHOT || ( \
			rm -rf $(ADVISORY_CHECKOUT) && mkdir -p $(ADVISORY_CHECKOUT) && cp -r $(ADVISORY_DB)/. $(ADVISORY_CHECKOUT)/ && \
			cd $(ADVISORY_CHECKOUT) && \
			git init -q && git add -A && GIT_AUTHOR_DATE="$${date}T00:00:00Z" GIT_COMMITTER_DATE="$${date}T00:00:00Z" \
				git -c user.name=snapshot -c user.email=snapshot@localhost commit -q -m "RustSec advisory-db snapshot $$date" ) || exit 1; \
		touch -d "$${date}T00:00:00Z" $(ADVISORY_CHECKOUT)/.git/HEAD; \
		echo "advisories: RustSec snapshot of $$date, $$(( ($$(date +%s) - $$(date -d "$$date" +%s)) / 86400 )) days old (deny.toml: maximum-db-staleness $$(grep -oE 'P[0-9]+D' deny.toml))"; \
		$(CARGO) deny --offline check || exit 1; \
		echo "advisories of the fuzz workspace (fuzz/Cargo.lock):"; \
		$(CARGO) deny --offline --manifest-path fuzz/Cargo.toml --config deny.toml check advisories || exit 1; \
	fi

sam-tools: ## install SAM CLI, cargo-lambda, zig and the arm64 Rust target when missing
	@command -v sam >/dev/null && command -v cargo-lambda >/dev/null || { \
		echo "installing build tools into .tools/sam"; \
		python3 -m venv $(TOOLS)/sam && $(TOOLS)/sam/bin/pip install --quiet -r scripts/requirements-sam.txt; }
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

test: ## everything CI checks: format, clippy, template checks, dependency advisories and licenses, unit, integration (moto), fixtures, end-to-end, a bounded fuzz run
	@# The static checks side by side: clippy keeps both cores busy while the
	@# Python checks and the tool installs mostly wait on one core or the network.
	$(MAKE) --no-print-directory -j3 --output-sync=target static-checks
	$(CARGO) build --workspace --bins
	$(MAKE) --no-print-directory lambda-bootstraps
	$(CARGO) test --workspace --no-fail-fast 2>&1 | tee .test-output.log
	$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECONDS=$${FUZZ_SECONDS:-20}
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "\ntests: %d passed, %d failed\n", p, f; exit (f > 0) }' .test-output.log

static-checks: tools sam-tools lint validate deny docs ## the checks that run no test: lint, validate, deny, docs

validate: tools checkov-tools sam-tools ## check the SAM template: cfn-lint, sam validate --lint, checkov on the template and on the SAM-transformed template with every option on (skips justified in the template), and closed-until-configured (scripts/check-template.py), all offline
	cfn-lint template.yaml
	sam validate --lint --template template.yaml --region us-east-1
	$(CHECKOV_ENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(CHECKOV_ENV)/bin/python scripts/transform-template.py template.yaml > $(TOOLS)/transformed-template.json
	$(CHECKOV_ENV)/bin/checkov -f $(TOOLS)/transformed-template.json --framework cloudformation --compact --quiet --skip-download
	$(CHECKOV_ENV)/bin/python scripts/check-template.py template.yaml $(TOOLS)/transformed-template.json

docs: ## check the documentation: every relative link resolves, docs/README.md indexes every document, every make target the docs name exists, every repository path and exported crate name they mention exists, none points outside the repository (scripts/check-docs.py)
	python3 scripts/check-docs.py

lint: ## cargo fmt --check, clippy with warnings as errors, and no import cycle inside any crate's src/ (scripts/check-imports.py)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 scripts/check-imports.py

build: ## release build of the functions for this machine
	$(CARGO) build --release $(FUNCTION_BINS)

build-lambda: sam-tools ## sam build --beta-features: cross-compiles both functions to arm64 with cargo-lambda
	sam build --beta-features --template template.yaml
	python3 scripts/check-bootstrap.py .aws-sam/build

check-lambda: build-lambda ## alias kept for CI: build and check the two aarch64 bootstraps

invoke-artemis: sam-tools ## cargo lambda invoke artemis with FIXTURE (default: the INSERT example) on a running `make local`
	cargo lambda invoke artemis --invoke-address 127.0.0.1 --invoke-port $(PORT) --data-file $${FIXTURE:-events/artemis-insert.rest-v1.json}

invoke-amlyze: sam-tools ## cargo lambda invoke amlyze with FIXTURE (default: the vendor example) on a running `make local`
	cargo lambda invoke amlyze --invoke-address 127.0.0.1 --invoke-port $(PORT) --data-file $${FIXTURE:-events/amlyze-customer-updated.http-v2.json}

deploy: build-lambda ## sam deploy --guided (asks for the stack name, region and parameters)
	sam deploy --guided --template-file .aws-sam/build/template.yaml

STACK ?=
VERIFY_WAIT ?= 420
verify: ## after make deploy: prove the deployed stack STACK (operator's credentials): one marked probe per vendor through its webhook URL with its token must get a 202, reach the archive and carry the stack's Object Lock retention (waits up to VERIFY_WAIT s for Firehose)
	@test -n "$(STACK)" || { echo "usage: make verify STACK=<stack name> (AWS_REGION / AWS_PROFILE as for sam deploy)"; exit 2; }
	$(CARGO) run --quiet --bin verify -- --stack "$(STACK)" --wait $(VERIFY_WAIT)

lambda-bootstraps: sam-tools ## the webhook functions' arm64 bootstraps in target/lambda (cargo lambda build --release --arm64, as sam build runs it)
	@# cargo-lambda finds zig through the first python3 on PATH: the build tools' one.
	PATH="$(TOOLS)/sam/bin:$$PATH" cargo lambda build --release --arm64 $(addprefix --bin ,$(WEBHOOK_FUNCTIONS))

# Without SAM: onto queues, secrets and roles made elsewhere (docs/operations.md,
# "Deploying with cargo-lambda"). The settings are checked before the build.
deploy-cargo-lambda: sam-tools ## deploy the webhook functions with cargo lambda deploy behind function URLs: ARTEMIS_/AMLYZE_ROLE_ARN (one role each unless SHARED_ROLE=true), RESERVED_CONCURRENCY (400), QUEUE_URL, QUARANTINE_QUEUE_URL, ARTEMIS_/AMLYZE_SECRET_ARN and _SOURCE_CIDRS (a token or ranges each), ARCHIVE_STREAM, MAX_BODY_BYTES, FALLBACK_QUEUE_URL, FALLBACK_QUARANTINE_QUEUE_URL, FALLBACK_REGION and FALLBACK_KMS_KEY_ARNS (a second region's queues); refuses an open function
	$(CARGO) run --quiet --bin deploy-cargo-lambda -- plan $(WEBHOOK_FUNCTIONS)
	$(MAKE) --no-print-directory lambda-bootstraps
	$(CARGO) run --quiet --bin deploy-cargo-lambda -- deploy $(WEBHOOK_FUNCTIONS)

cargo-lambda-policy: ## print the least-privilege policy of each webhook function's role (QUEUE_URL, QUARANTINE_QUEUE_URL, ARCHIVE_STREAM, the vendors' SECRET_ARNs, KMS_KEY_ARN, FALLBACK_QUEUE_URL, FALLBACK_QUARANTINE_QUEUE_URL, FALLBACK_KMS_KEY_ARNS; VENDOR=artemis for one document)
	@$(CARGO) run --quiet --bin deploy-cargo-lambda -- policy $(or $(VENDOR),$(WEBHOOK_FUNCTIONS))

CONSUMER ?= on
demo: tools ## the main job locally: moto + both functions (+ the reference consumer unless CONSUMER=off), replay every fixture, print what landed where, the customer-state table and its transitions, the archive's counts and one customer's timeline
	$(CARGO) build $(FUNCTION_BINS) --bin local-stack
	CONSUMER=$(CONSUMER) $(CARGO) run --quiet --bin local-stack -- --replay

SUBJECT ?=
CUSTOMER_ID ?=
history: ## one customer's timeline from the archive: make history SUBJECT=CUST-000123 (or CUSTOMER_ID=123456); reads .local/archive.ndjson from make demo, or ARCHIVE_BUCKET from S3
	@test -n "$(SUBJECT)$(CUSTOMER_ID)" || { echo "usage: make history SUBJECT=… (or CUSTOMER_ID=…)"; exit 2; }
	$(CARGO) run --quiet --bin history -- --subject "$(SUBJECT)" --customer-id "$(CUSTOMER_ID)"

schemas: ## write the JSON Schemas of the queues (schemas/) from the Rust types; make test fails when they are stale
	$(CARGO) run --quiet -p intake-queue --features schema --example schemas -- schemas

local: tools ## keep the local stack running on http://127.0.0.1:$(PORT) for curl (Ctrl-C stops it); the reference consumer (unless CONSUMER=off) prints each transition and serves them at /transitions
	$(CARGO) build $(FUNCTION_BINS) --bin local-stack
	CONSUMER=$(CONSUMER) PORT=$(PORT) $(CARGO) run --quiet --bin local-stack

metrics: ## per-vendor summary of the metrics (EMF) the local functions wrote to .local/ (after make local or make demo), as the dashboard will show them
	$(CARGO) run --quiet --bin local-stack -- --metrics

replay: ## post every fixture's raw HTTP request to URL (default: the local stack)
	python3 scripts/replay.py $(URL)

bench: tools bench-python ## criterion per-request bench, then cold start (HTTP and TLS), Lambda's sizes (CPU share and memory, over TLS), warm latency, memory and cost against floors measured in the same run, with a Python (boto3) row; draws docs/bench/lambda-sizes.png
	$(CARGO) bench -p intake --bench per_request
	$(CARGO) build --release $(FUNCTION_BINS) --bin bare-lambda-http --bin bench --bin sqs-stub
	FUNCTION_BIN_DIR=$(CURDIR)/target/release BENCH_PYTHON=$(BENCH_PYTHON) \
		BENCH_EXTRA="artemis-python=$(CURDIR)/tools/dev/python-lambda/bootstrap$${BENCH_EXTRA:+,$$BENCH_EXTRA}" \
		$(CURDIR)/target/release/bench $${COLD_RUNS:-30} $${WARM_RUNS:-500}
	@if [ -s target/bench/sizes.json ] && [ "$${BENCH_SIZES:-}" != none ]; then \
		$(PLOT_PYTHON) scripts/plot-bench.py target/bench/sizes.json docs/bench/lambda-sizes.png; fi
	@if [ -d .aws-sam/build ]; then python3 scripts/check-bootstrap.py .aws-sam/build; \
		else echo "deployment sizes: run make build-lambda first"; fi
	$(MAKE) --no-print-directory bench-capacity

bench-capacity: ## how long one request holds a Lambda environment while SQS and Firehose answer in 20 ms, 100 ms, 1 s, throttle or do not answer (256 MB share, archive on); writes docs/bench/capacity.json, which docs/capacity.md and check-template.py use
	$(CARGO) build --release --bin artemis --bin sqs-stub --bin capacity
	FUNCTION_BIN_DIR=$(CURDIR)/target/release CAPACITY_OUT=$(CURDIR)/docs/bench/capacity.json $(CURDIR)/target/release/capacity

drill: tools ## the two-region drill on two local regions (moto each, the built functions): region A's SQS hangs, heals, then the whole of region A dies, while callbacks replay through a failover front door; prints the timeline and what the window lost
	$(CARGO) build $(FUNCTION_BINS)
	FUNCTION_BIN_DIR=$(CURDIR)/target/debug $(CARGO) test --quiet -p harness --test regions -- --nocapture --test-threads 1 drill_

BENCH_PYTHON := $(TOOLS)/bench-python/bin/python
PLOT_PYTHON := $(TOOLS)/plot/bin/python
bench-python: $(TOOLS)/bench-python/installed $(TOOLS)/plot/installed ## the Python comparison function's environment (boto3) and the plot's (matplotlib) for make bench
$(TOOLS)/bench-python/installed: tools/dev/python-lambda/requirements.txt
	python3 -m venv $(TOOLS)/bench-python
	$(BENCH_PYTHON) -m pip install --quiet -r tools/dev/python-lambda/requirements.txt
	touch $@
$(TOOLS)/plot/installed: scripts/requirements-plot.txt
	python3 -m venv $(TOOLS)/plot
	$(PLOT_PYTHON) -m pip install --quiet -r scripts/requirements-plot.txt
	touch $@

load: tools ## 10,000 requests (REQUESTS=…) through both binaries on a standard queue, then 2,000 on a FIFO queue, reconciled: nothing lost
	$(CARGO) build $(FUNCTION_BINS) --bin load
	$(CARGO) run --quiet --bin load -- $${REQUESTS:-10000} $${CONCURRENCY:-16} $${PROCESSES:-4} $${FIFO_REQUESTS:-2000}

FUZZ_TARGETS := artemis amlyze pipeline
fuzz-tools: ## cargo-fuzz, when missing (needs the nightly toolchain)
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

fuzz: fuzz-tools ## each fuzz target (the parsers, and the whole pipeline's invariant) for RUNS inputs (default 1,000,000)
	cd fuzz && for target in $(FUZZ_TARGETS); do mkdir -p corpus/$$target && \
		cargo +nightly fuzz run --sanitizer none $$target corpus/$$target seeds/$$target -- -runs=$${RUNS:-1000000} -max_len=16384 || exit 1; done

# The smoke run builds unoptimized (--dev): the pipeline target compiles the
# harness and the SDKs, which takes three times as long optimized. Unoptimized,
# it replays the seeds and the local corpus, then mutates slowly; the long
# campaign (make fuzz) is optimized.
fuzz-smoke: ## each fuzz target for FUZZ_SECONDS, unoptimized (part of make test): the seeds and local corpus replayed, then mutated; says so loudly when nightly is missing
	@if ! cargo +nightly --version >/dev/null 2>&1; then \
		echo "!!! FUZZ TARGETS NOT RUN: no nightly toolchain (cargo +nightly); make test ran everything else !!!"; exit 0; fi; \
	$(MAKE) --no-print-directory fuzz-tools && cd fuzz && for target in $(FUZZ_TARGETS); do mkdir -p corpus/$$target && \
		cargo +nightly fuzz run --dev --sanitizer none $$target corpus/$$target seeds/$$target -- \
			-max_total_time=$${FUZZ_SECONDS:-20} -max_len=16384 -print_final_stats=1 > $(CURDIR)/.fuzz-$$target.log 2>&1 || { \
			tail -40 $(CURDIR)/.fuzz-$$target.log; echo "fuzz target $$target FAILED"; exit 1; }; \
		echo "fuzz $$target: $$(grep -E '^stat::number_of_executed_units' $(CURDIR)/.fuzz-$$target.log | grep -oE '[0-9]+') inputs in $${FUZZ_SECONDS:-20} s, no failure"; done

redrive: ## run the quarantine queue through the current pipeline: dry run, APPLY=1 to enqueue what passes and delete those records; SINCE=… UNTIL=… (RFC 3339) redrive the archive's quarantine records instead (ARCHIVE_BUCKET, or .local/archive.ndjson)
	$(CARGO) run --quiet --bin redrive -- $(if $(APPLY),--apply,) $(if $(SINCE),--from-archive --since $(SINCE) --until $(UNTIL),)

recover: ## re-enqueue requests a function logged because no queue took them, and put back archive records the archive refused: make recover LOG=file (QUEUE_URL, QUARANTINE_QUEUE_URL, ARCHIVE_STREAM, AWS settings from the environment); unauthorized and unreadable-event records only with VOUCHED=1
	@test -n "$(LOG)" || { echo "usage: make recover LOG=exported-function-log.txt [VOUCHED=1]"; exit 2; }
	$(CARGO) run --quiet --bin recover -- $(if $(VOUCHED),--vouched) $(LOG)

clean: ## remove build output and local logs
	$(CARGO) clean
	rm -rf .local .aws-sam .test-output.log
