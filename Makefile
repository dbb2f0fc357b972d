# exh-task: `make run` shows it working on the embedded sandbox, `make test`
# runs every test. Both install what they need (into .venv) and skip what is
# already there. See README.md.

CARGO   ?= cargo
VENV    := .venv
PYTHON  := $(VENV)/bin/python3
PIP     := $(VENV)/bin/pip --disable-pip-version-check --quiet
CARGO_LAMBDA_VERSION := 1.9.2
LAMBDA  := $(VENV)/bin/cargo-lambda
EVENT   ?= events/users-me.json
PORT    ?= 9001
SAMPLES := events/users-me.json events/users-list-rql.json events/users-all-pages.json \
           events/data-create-document.json events/batch.json events/envelope-sqs.json \
           events/hexonet-status-account.json events/hexonet-query-domain-list.json

.PHONY: setup run test lint watch invoke build package deploy bench sandbox clean-venv

## setup: the reference packages the conformance tests compare against (Python ones, and
##        Node from PyPI for the Extra Horizon JavaScript SDK)
setup: $(VENV)/.test-deps

$(VENV)/.test-deps: tests/conformance/requirements.txt tests/conformance/requirements-nodeps.txt \
                    tests/conformance/js/package-lock.json
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) install -r tests/conformance/requirements.txt
	$(PIP) install --no-deps -r tests/conformance/requirements-nodeps.txt
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm ci --prefix tests/conformance/js --no-audit --no-fund --loglevel=error
	touch $@

$(LAMBDA):
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) install cargo-lambda==$(CARGO_LAMBDA_VERSION)

## run: the main job, on the embedded sandbox: several sample events, one after the other
run:
	$(CARGO) run --quiet --bin exh-task -- invoke --output pretty --max-items 2 $(SAMPLES)

## test: every test (unit, integration, end-to-end, conformance)
test: setup
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## lint: formatting and clippy, as CI runs them
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## sandbox: the loopback Extra Horizon emulation, for your own scripts
sandbox:
	$(CARGO) run --quiet --bin exh-task -- sandbox --port $(PORT)

## watch: `cargo lambda watch` against the sandbox; then `make invoke EVENT=...` in another shell
watch: $(LAMBDA)
	$(CARGO) build --quiet --bin exh-task
	target/debug/exh-task sandbox --port $(PORT) --env-file $(VENV)/sandbox.env & sandbox=$$!; \
	  trap 'kill $$sandbox' EXIT INT TERM; \
	  for try in $$(seq 100); do test -s $(VENV)/sandbox.env && break; sleep 0.1; done; \
	  test -s $(VENV)/sandbox.env || { echo "the sandbox did not start on port $(PORT)" >&2; exit 1; }; \
	  . ./$(VENV)/sandbox.env && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda watch --bin bootstrap

## invoke: send EVENT to the function `make watch` serves
invoke: $(LAMBDA)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda invoke bootstrap --data-file $(EVENT)

## build: the release bootstrap for Lambda (arm64); its package has no sandbox to leave out
LAMBDA_BUILD = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda build --release --arm64 \
               --package exh-task --bin bootstrap
build: $(LAMBDA)
	rustup target add aarch64-unknown-linux-gnu
	$(LAMBDA_BUILD)

## package: the zip Lambda and the exh CLI take (target/lambda/bootstrap/bootstrap.zip)
package: $(LAMBDA)
	rustup target add aarch64-unknown-linux-gnu
	$(LAMBDA_BUILD) --output-format zip
	@ls -l target/lambda/bootstrap/bootstrap.zip

## deploy: `cargo lambda deploy` with your AWS credentials (not used by tests)
deploy: build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda deploy --binary-name bootstrap exh-task

## bench: criterion benchmarks and the process-level harness, as ratios to a
## baseline measured in the same run; writes target/bench/report.md and its
## chart (see benches/README.md)
BENCH_TARGET    := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BENCH_DIR       := $(BENCH_TARGET)/bench
BENCH_BOOTSTRAP := $(BENCH_DIR)/bootstrap
BENCH_HELLO     := $(BENCH_DIR)/hello
BENCH_ARM64     := $(BENCH_TARGET)/lambda/bootstrap/bootstrap
bench: setup $(LAMBDA)
	# The bootstrap as shipped, and the hello-world floor with the same
	# profile; `cargo bench` rebuilds target/release/bootstrap with the
	# dev-dependencies' features unified in, so both are measured from copies.
	$(CARGO) build --release --package exh-task --bin bootstrap
	$(CARGO) build --release --package exh-task-bench-hello --bin hello
	mkdir -p $(BENCH_DIR)
	cp $(BENCH_TARGET)/release/bootstrap $(BENCH_BOOTSTRAP)
	cp $(BENCH_TARGET)/release/hello $(BENCH_HELLO)
	# The arm64 bootstrap Lambda runs (`make build`'s), for its size.
	rustup target add aarch64-unknown-linux-gnu
	$(LAMBDA_BUILD)
	rm -f $(BENCH_DIR)/codecs.md
	EXH_TASK_BENCH_BOOTSTRAP=$(BENCH_BOOTSTRAP) EXH_TASK_BENCH_HELLO=$(BENCH_HELLO) \
	  EXH_TASK_BENCH_ARM64=$(BENCH_ARM64) $(CARGO) bench --bench codecs --bench process
	@echo "the report: $(BENCH_DIR)/report.md"

clean-venv:
	rm -rf $(VENV)
