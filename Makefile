# exh-task: `make run` shows it working on the embedded sandbox, `make test`
# runs every test. Both install what they need (into .venv) and skip what is
# already there. See README.md.

CARGO   ?= cargo
VENV    := .venv
PYTHON  := $(VENV)/bin/python3
PIP     := $(VENV)/bin/pip --disable-pip-version-check --quiet
CARGO_LAMBDA_VERSION := 1.9.2
LAMBDA  := $(VENV)/bin/cargo-lambda
SAM_CLI_VERSION := 1.170.0
SAM     := $(VENV)/bin/sam
# Nothing is sent anywhere from here: no SAM CLI telemetry.
export SAM_CLI_TELEMETRY := 0
EVENT   ?= events/users-me.json
# The function binary that watch, invoke, build, package and exh-bundle work on:
# `bootstrap`, or a task of your own (`make exh-bundle BIN=check-domains`); its
# package is the product's for bootstrap, else the package of that name.
BIN     ?= bootstrap
PACKAGE ?= $(if $(filter bootstrap,$(BIN)),exh-task,$(BIN))
PORT    ?= 9001
# The port `cargo lambda watch` takes invocations on (loopback only), where
# `make invoke` sends them.
WATCH_PORT ?= 9000
# Where cargo builds: target/, or CARGO_TARGET_DIR. The derived SAM
# templates and the local checks write below it too.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
# The sandbox's configuration while `make watch` runs (removed when it stops).
WATCH_ENV ?= $(TARGET_DIR)/watch/sandbox.env
SAMPLES := events/users-me.json events/users-list-rql.json events/users-all-pages.json \
           events/data-create-document.json events/batch.json events/envelope-sqs.json \
           events/hexonet-status-account.json events/hexonet-query-domain-list.json

.PHONY: setup run test lint watch watch-check invoke build package exh-bundle sam-template deploy \
        sam-check deploy-check bench sandbox clean-venv arm64-target

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

# The SAM CLI, for `deploy` and `deploy-check` only (not `test`): it builds
# rust-cargolambda without beta flags since 1.156.
$(SAM):
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) install aws-sam-cli==$(SAM_CLI_VERSION)

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

## watch: `cargo lambda watch` of BIN against the sandbox, on 127.0.0.1:WATCH_PORT; then
##        `make invoke EVENT=...` (with the same BIN) in another shell
watch: $(LAMBDA)
	$(CARGO) build --quiet --bin exh-task
	mkdir -p $(dir $(WATCH_ENV)) && rm -f $(WATCH_ENV)
	$(TARGET_DIR)/debug/exh-task sandbox --port $(PORT) --env-file $(WATCH_ENV) & sandbox=$$!; \
	  trap 'kill $$sandbox' EXIT INT TERM; \
	  for try in $$(seq 100); do test -s $(WATCH_ENV) && break; sleep 0.1; done; \
	  test -s $(WATCH_ENV) || { echo "the sandbox did not start on port $(PORT)" >&2; exit 1; }; \
	  . $(WATCH_ENV) && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda watch \
	    --package $(PACKAGE) --bin $(BIN) --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT)

## invoke: send EVENT to the function `make watch` serves
invoke: $(LAMBDA)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda invoke $(BIN) \
	  --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --data-file $(EVENT)

## watch-check: `make watch BIN=check-domains` and `make invoke` of its sample events, run
##              and checked by deploy/watch-check.sh on loopback (part of deploy-check:
##              cargo lambda watch compiles)
watch-check: $(LAMBDA)
	MAKE="$(MAKE)" WATCH_CHECK_DIR=$(TARGET_DIR)/watch-check deploy/watch-check.sh

## arm64-target: the Rust standard library for aarch64 Linux, which every arm64 build needs
##               (rustup skips it when it is installed)
arm64-target:
	rustup target add aarch64-unknown-linux-gnu

## build: the release bootstrap for AWS Lambda (arm64); its package has no sandbox to leave out
LAMBDA_BUILD = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda build --release \
               --package $(PACKAGE) --bin $(BIN)
build: $(LAMBDA) arm64-target
	$(LAMBDA_BUILD) --arm64

## package: the arm64 zip for AWS Lambda (target/lambda/bootstrap/bootstrap.zip), for
##          `aws lambda update-function-code --zip-file` or the console; the exh CLI
##          does not take a zip (it zips a folder itself: see exh-bundle)
package: $(LAMBDA) arm64-target
	$(LAMBDA_BUILD) --arm64 --output-format zip
	@ls -l target/lambda/$(BIN)/bootstrap.zip

## exh-bundle: target/exh-task/, the folder `exh tasks sync --path target/exh-task/task-config.json`
##             takes: bootstrap for x86_64 (Extra Horizon creates functions on Lambda's
##             default architecture; EXH_ARCH=arm64 only if it creates yours on arm64)
##             beside deploy/task-config.json (EXH_TASK_CONFIG, e.g. BIN=check-domains
##             EXH_TASK_CONFIG=examples/check-domains/task-config.json)
EXH_ARCH   ?= x86_64
EXH_TASK_CONFIG ?= deploy/task-config.json
EXH_BUNDLE := target/exh-task
exh-bundle: $(LAMBDA)
	case "$(EXH_ARCH)" in \
	  x86_64) flag=--x86-64 target=x86_64-unknown-linux-gnu ;; \
	  arm64) flag=--arm64 target=aarch64-unknown-linux-gnu ;; \
	  *) echo "EXH_ARCH must be x86_64 or arm64, not $(EXH_ARCH)" >&2; exit 1 ;; \
	esac; \
	rustup target add $$target && \
	$(LAMBDA_BUILD) $$flag --lambda-dir target/lambda-$(EXH_ARCH)
	rm -rf $(EXH_BUNDLE) && mkdir -p $(EXH_BUNDLE)
	install -m 755 target/lambda-$(EXH_ARCH)/$(BIN)/bootstrap $(EXH_BUNDLE)/bootstrap
	install -m 644 $(EXH_TASK_CONFIG) $(EXH_BUNDLE)/task-config.json
	@ls -l $(EXH_BUNDLE)

## sam-template: the SAM template of BIN: template.yaml for bootstrap; for another BIN,
##               target/sam/BIN/template.yaml, a copy with CodeUri (BIN's package) and
##               Metadata.BuildProperties.Binary changed, which SAM reads from the
##               template only (no parameter reaches them)
SAM_RUN       = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM)
SAM_DIR       = $(TARGET_DIR)/sam/$(BIN)
SAM_TEMPLATE  = $(if $(filter bootstrap,$(BIN)),template.yaml,$(SAM_DIR)/template.yaml)
# Where `sam build` writes; `sam deploy` takes what it finds there.
SAM_BUILD_DIR ?= .aws-sam/build
# samconfig.toml (here, not beside the built template, which the next build
# wipes) keeps each function's stack apart: bootstrap's as `default`, BIN's as BIN.
SAM_CONFIG_ENV = $(if $(filter bootstrap,$(BIN)),default,$(BIN))
sam-template:
ifneq ($(BIN),bootstrap)
	mkdir -p $(SAM_DIR)
	code=$$($(CARGO) pkgid $(PACKAGE) | sed 's|^path+file://||; s|#.*||') && \
	  sed -e 's|^      CodeUri: \.$$|      CodeUri: '"$$code"'|' \
	      -e 's|^        Binary: bootstrap$$|        Binary: $(BIN)|' template.yaml > $(SAM_TEMPLATE)
	test "$$(diff template.yaml $(SAM_TEMPLATE) | grep -c '^>')" = 2 || \
	  { echo "template.yaml has no 'CodeUri: .' or 'Binary: bootstrap' line to change" >&2; exit 1; }
endif

## deploy: `sam build && sam deploy --guided` with BIN's template and your AWS credentials
##         (asks for the stack's parameters the first time, then keeps them in
##         samconfig.toml under SAM_CONFIG_ENV); `cargo lambda deploy` works too
##         (settings in Cargo.toml's [package.metadata.lambda.deploy]): see README.md
deploy: $(SAM) $(LAMBDA) sam-template arm64-target
	$(SAM_RUN) build --template-file $(SAM_TEMPLATE) --build-dir $(SAM_BUILD_DIR)
	$(SAM_RUN) deploy --guided --template-file $(SAM_BUILD_DIR)/template.yaml \
	  --config-file $(CURDIR)/samconfig.toml --config-env $(SAM_CONFIG_ENV)

## sam-check: `sam validate --lint` and `sam build` of BIN's template (into SAM_BUILD_DIR),
##            and the bootstrap it built inspected (part of deploy-check)
sam-check: $(SAM) $(LAMBDA) sam-template arm64-target
	$(SAM_RUN) validate --lint --template-file $(SAM_TEMPLATE)
	$(SAM_RUN) build --template-file $(SAM_TEMPLATE) --build-dir $(SAM_BUILD_DIR)
	EXH_TASK_SAM_BOOTSTRAP=$(abspath $(SAM_BUILD_DIR))/ExhTaskFunction/bootstrap \
	EXH_TASK_SAM_ARCH=arm64 \
	  $(CARGO) test --quiet --package exh-task --test deploy -- --ignored artifact_the_sam_build --nocapture

## deploy-check: what can be proven offline before a deploy (cross-compiles, so not part
##               of `test`): the template lints, SAM builds it, also for the example task
##               (its derived template), the Extra Horizon bundle builds, both artifacts
##               are inspected (architecture, size, executable bit, nothing of the sandbox
##               linked in), and `make watch` / `make invoke` serve the example (watch-check)
deploy-check: $(SAM) $(LAMBDA)
	$(MAKE) --no-print-directory sam-check BIN=bootstrap
	$(MAKE) --no-print-directory sam-check BIN=check-domains \
	  SAM_BUILD_DIR=$(TARGET_DIR)/sam/check-domains/build
	# ... and what SAM built from the derived template is the example, not bootstrap
	grep -qa 'lists no domains' $(TARGET_DIR)/sam/check-domains/build/ExhTaskFunction/bootstrap
	$(MAKE) --no-print-directory exh-bundle BIN=bootstrap
	# cargo lambda deploy reads [package.metadata.lambda.deploy] and packages, sending
	# nothing; on a copy, as it leaves its zip beside the binary (SAM would upload that too)
	mkdir -p target/deploy-check && cp .aws-sam/build/ExhTaskFunction/bootstrap target/deploy-check/
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LAMBDA) lambda deploy --dry \
	  --binary-path target/deploy-check/bootstrap exh-task
	EXH_TASK_EXH_BUNDLE=$(CURDIR)/$(EXH_BUNDLE) EXH_TASK_EXH_ARCH=$(EXH_ARCH) \
	  $(CARGO) test --quiet --package exh-task --test deploy -- --ignored artifact_the_extra_horizon \
	  --nocapture
	$(MAKE) --no-print-directory watch-check

## bench: criterion benchmarks and the process-level harness, as ratios to a
## baseline measured in the same run; writes target/bench/report.md and its
## chart (see benches/README.md)
BENCH_DIR       := $(TARGET_DIR)/bench
BENCH_BOOTSTRAP := $(BENCH_DIR)/bootstrap
BENCH_HELLO     := $(BENCH_DIR)/hello
BENCH_HELLO_GET := $(BENCH_DIR)/hello-get
BENCH_ARM64     := $(TARGET_DIR)/lambda/bootstrap/bootstrap
bench: setup $(LAMBDA) arm64-target
	# The bootstrap as shipped, and the hello-world floors with the same
	# profile (the plain one, and one making the same GET); `cargo bench`
	# rebuilds target/release/bootstrap with the dev-dependencies' features
	# unified in, so all three are measured from copies.
	$(CARGO) build --release --package exh-task --bin bootstrap
	$(CARGO) build --release --package exh-task-bench-hello --bin hello
	$(CARGO) build --release --package exh-task-bench-hello-get --bin hello-get
	mkdir -p $(BENCH_DIR)
	cp $(TARGET_DIR)/release/bootstrap $(BENCH_BOOTSTRAP)
	cp $(TARGET_DIR)/release/hello $(BENCH_HELLO)
	cp $(TARGET_DIR)/release/hello-get $(BENCH_HELLO_GET)
	# The arm64 bootstrap Lambda runs (`make build`'s), for its size.
	$(LAMBDA_BUILD) --arm64
	rm -f $(BENCH_DIR)/codecs.md
	EXH_TASK_BENCH_BOOTSTRAP=$(BENCH_BOOTSTRAP) EXH_TASK_BENCH_HELLO=$(BENCH_HELLO) \
	  EXH_TASK_BENCH_HELLO_GET=$(BENCH_HELLO_GET) EXH_TASK_BENCH_ARM64=$(BENCH_ARM64) \
	  $(CARGO) bench --bench codecs --bench process
	@echo "the report: $(BENCH_DIR)/report.md"

clean-venv:
	rm -rf $(VENV)
