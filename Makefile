# keyturn — the two commands a newcomer needs are `make demo` and `make test`.
# Everything they need is installed into this folder (.venv/, target/, .local/).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

MOTO_PORT ?= 4566
SIM_PORT  ?= 4567
LAMBDA_PORT ?= 9000
VENDOR_PORT ?= 4568
# scim2-server (PyPI, python-scim): an RFC 7644 server keyturn did not write.
SCIM_PORT ?= 4569
# Instances per function under `cargo lambda watch` (Lambda runs many): a
# batch's child executions call rotate/verify/finalize at once.
LAMBDA_CONCURRENCY ?= 4
VENV      := .venv
PY        := $(VENV)/bin/python
STATE     := .local
KEYTURN   := target/debug/keyturn

# Every target talks to the local stack only, whatever the calling shell has
# set: fake credentials, loopback endpoint, no profile.
export AWS_ENDPOINT_URL      := http://127.0.0.1:$(MOTO_PORT)
export AWS_REGION            := us-east-1
export AWS_DEFAULT_REGION    := us-east-1
export AWS_ACCESS_KEY_ID     := testing
export AWS_SECRET_ACCESS_KEY := testing
unexport AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export KEYTURN_STATE_MACHINE_ARN := arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation
# What the functions under `cargo lambda watch` need (they inherit this env).
export KEYTURN_APPROVAL_URL := http://127.0.0.1:$(LAMBDA_PORT)/lambda-url/approval-callback
export KEYTURN_EMAIL_FROM   := keyturn@keyturn.example
export KEYTURN_JIRA_URL     := http://127.0.0.1:$(VENDOR_PORT)/jira
export KEYTURN_JIRA_PROJECT := KT
export KEYTURN_JIRA_SECRET  := keyturn/jira
export KEYTURN_SIM_URL      := http://127.0.0.1:$(SIM_PORT)
# Vendors and identity providers: the Rust simulators (tests/simulators).
export KEYTURN_DEV_VENDOR_URL  := http://127.0.0.1:$(VENDOR_PORT)
# The independent SCIM server, reached through keyturn-sim's relay (tests read it).
export KEYTURN_SCIM_SERVER_URL := http://127.0.0.1:$(SCIM_PORT)
export KEYTURN_ATLASSIAN_URL   := http://127.0.0.1:$(VENDOR_PORT)
export KEYTURN_GRAPH_URL       := http://127.0.0.1:$(VENDOR_PORT)/graph/v1.0
export KEYTURN_ENTRA_LOGIN_URL := http://127.0.0.1:$(VENDOR_PORT)/login
export KEYTURN_ENTRA_SECRET    := keyturn/entra
export KEYTURN_OKTA_SECRET     := keyturn/okta
export RUST_LOG             ?= info
# The simulated Graph counts replication in token requests, not minutes: a
# short budget keeps a never-replicating secret's rollback quick.
export KEYTURN_APP_SECRET_PROPAGATION ?= 5s
# Crash-recovery tests arm one-shot crash points here (core/app/src/faults.rs;
# honoured only because AWS_ENDPOINT_URL is loopback).
export KEYTURN_CRASH_DIR    := $(CURDIR)/$(STATE)/crash

.PHONY: help demo test lint build up down lambdas clean browser infra-check bench bench-profiles deny fuzz

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: tests/localstack/requirements.txt
	@echo "==> Python venv for the local stack ($(VENV))"
	@# Only if missing: bench/run.sh has made it and is running cargo-lambda
	@# from it while this installs (re-running venv re-runs ensurepip under it).
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# Linters for infra/ in their own venvs: checkov's bc-python-hcl2 and the
# parity check's python-hcl2 install the same module name.
.venv-infra/.installed: infra/checks/requirements-lint.txt
	@echo "==> Python venv for cfn-lint and checkov (.venv-infra)"
	python3 -m venv .venv-infra
	.venv-infra/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

.venv-hcl/.installed: infra/checks/requirements-hcl.txt
	@echo "==> Python venv for the Terraform parser (.venv-hcl)"
	python3 -m venv .venv-hcl
	.venv-hcl/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

infra-check: .venv-infra/.installed .venv-hcl/.installed ## Offline checks of infra/: cdk synth, cfn-lint, checkov, terraform fmt, schema validation at the provider floor and newest, IAM actions, CDK/Terraform parity, asl-validator
	@infra/checks/run.sh

# No venv prerequisite: bench/run.sh installs the Python packages alongside its builds.
bench: ## Benchmarks (not make test): cold start, size, RSS vs Python twins, scan cost, criterion, audit verify
	@bench/run.sh

bench-profiles: $(VENV)/.installed ## What each release-profile knob buys (the bootstrap: size, init, build CPU; ~1 h on 2 cores)
	@test -x $(VENV)/bin/cargo-lambda || $(VENV)/bin/pip install --quiet cargo-lambda ziglang
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/profiles.py

build: ## Build every crate (dev profile)
	cargo build --workspace

# Starts `$(1)` in the background unless its pid file names a live process.
define start_bg
	@if [ -f $(STATE)/$(1).pid ] && kill -0 "$$(cat $(STATE)/$(1).pid)" 2>/dev/null; then \
	  echo "==> $(1) already running (pid $$(cat $(STATE)/$(1).pid))"; \
	else \
	  echo "==> starting $(1) (log: $(STATE)/$(1).log)"; \
	  setsid nohup $(2) >$(STATE)/$(1).log 2>&1 </dev/null & \
	  echo $$! > $(STATE)/$(1).pid; \
	fi
endef

up: $(VENV)/.installed build ## Start the local stack: moto (4566), captured email (4567), vendor/Slack/Jira simulators (4568), SCIM server (4569), functions (9000)
	@mkdir -p $(STATE)
	$(call start_bg,moto,$(PY) tests/localstack/launcher.py --port $(MOTO_PORT) --sim-port $(SIM_PORT) --lambda-endpoint http://127.0.0.1:$(LAMBDA_PORT))
	@# One tenant per directory, made on its first request, held in memory.
	$(call start_bg,scim,$(VENV)/bin/scim2-server --hostname 127.0.0.1 --port $(SCIM_PORT) --dynamic-tenants)
	$(call start_bg,vendors,target/debug/keyturn-sim --port $(VENDOR_PORT) --scim-upstream $(KEYTURN_SCIM_SERVER_URL))
	$(call start_bg,functions,env PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda watch -A 127.0.0.1 -P $(LAMBDA_PORT) --ignore-changes --concurrency $(LAMBDA_CONCURRENCY))
	@$(PY) tests/localstack/launcher.py --port $(MOTO_PORT) --wait-ready 30 \
	  || { echo "local stack did not answer in 30 s; see $(STATE)/moto.log"; tail -20 $(STATE)/moto.log; exit 1; }
	@$(PY) tests/localstack/launcher.py --port $(SCIM_PORT) --wait-ready 30 --path / \
	  || { echo "scim2-server did not answer in 30 s; see $(STATE)/scim.log"; tail -20 $(STATE)/scim.log; exit 1; }
	@$(PY) tests/localstack/launcher.py --port $(LAMBDA_PORT) --wait-ready 60 --path / \
	  || { echo "cargo lambda watch did not answer in 60 s; see $(STATE)/functions.log"; tail -20 $(STATE)/functions.log; exit 1; }
	@$(KEYTURN) dev setup

down: ## Stop the local stack
	@for svc in functions vendors scim moto; do \
	  if [ -f $(STATE)/$$svc.pid ]; then \
	    pid=$$(cat $(STATE)/$$svc.pid); \
	    if kill -- -"$$pid" 2>/dev/null || kill "$$pid" 2>/dev/null; then \
	      for _ in $$(seq 200); do kill -0 "$$pid" 2>/dev/null || break; sleep 0.1; done; \
	      echo "==> $$svc stopped"; \
	    fi; \
	    rm -f $(STATE)/$$svc.pid; \
	  fi; \
	done

CARGO_DENY_VERSION := 0.20.2

.tools/bin/cargo-deny:
	@echo "==> installing cargo-deny $(CARGO_DENY_VERSION) into .tools (a few minutes, once)"
	cargo install cargo-deny --locked --quiet --version $(CARGO_DENY_VERSION) --root .tools

# cargo-deny reads `cargo metadata` for every platform, so crates that only
# Windows or macOS builds use (anstyle-wincon, …) must be in the registry cache
# too; `cargo fetch` downloads them from crates.io, then deny runs offline.
deny: .tools/bin/cargo-deny ## cargo deny: licences, banned crates (OpenSSL), sources (advisories need the network: see deny.toml)
	cargo fetch --locked --quiet
	.tools/bin/cargo-deny --offline check --hide-inclusion-graph licenses bans sources

CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := link_token inventory vendor_bodies export_data url_building

.tools/bin/cargo-fuzz:
	@echo "==> installing cargo-fuzz $(CARGO_FUZZ_VERSION) into .tools (once)"
	cargo install cargo-fuzz --locked --quiet --version $(CARGO_FUZZ_VERSION) --root .tools

# libFuzzer on the stable toolchain: no sanitizer (ASan needs nightly), and
# RUSTC_BOOTSTRAP for the one unstable flag cargo-fuzz passes. New inputs go
# to .local/fuzz/; the committed seeds in fuzz/corpus/ are only read.
fuzz: .tools/bin/cargo-fuzz ## Fuzz the parsers of untrusted input, FUZZ_SECONDS (60) each (not part of make test)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .local/fuzz/$$t; \
	  echo "==> fuzz $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && RUSTC_BOOTSTRAP=1 ../.tools/bin/cargo-fuzz run $$t ../.local/fuzz/$$t corpus/$$t \
	     --sanitizer none --release --target-dir ../target/fuzz -- \
	     -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 -print_final_stats=1 2>&1 \
	     | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY)|panicked" ) || exit 1; \
	done

lint: ## cargo fmt --check, clippy -D warnings, the crate and module layering check (tests/layering.py)
	@# The checker is first run on deliberately broken workspaces, so a checker that passes everything fails.
	python3 tests/layering.py --selftest
	python3 tests/layering.py
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@# The CLI as make bench builds it (without the default `s3` feature).
	cargo clippy -p keyturn-cli --bin keyturn --no-default-features -- -D warnings

browser: ## Install headless Chromium + playwright-core for the approval-page tests
	@tests/browser/install.sh

test: lint deny infra-check up browser ## Everything CI runs: lint, cargo deny, infra checks, unit tests, end-to-end tests on the local stack
	cargo test --workspace --no-fail-fast
	@echo "==> the 2,000-connector change, alone on the stack (issue #10; prints its figures)"
	@# --workspace: the same feature set as the line above, so nothing is rebuilt.
	cargo test --workspace --test e2e -- --ignored --nocapture scale::

demo: $(VENV)/.installed build browser ## Run keyturn end to end on the local stack
	@$(MAKE) down >/dev/null
	@$(MAKE) up
	@KEYTURN=$(KEYTURN) bash dev/demo.sh

lambdas: ## Build the Lambda bootstrap, all nine functions in one (release, arm64 zip: target/lambda/keyturn-lambda/bootstrap.zip)
	@test -x $(VENV)/bin/cargo-lambda || $(VENV)/bin/pip install --quiet cargo-lambda ziglang
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip -p keyturn-functions --bin keyturn-lambda

clean: down ## Stop the stack and remove build output and installs
	cargo clean
	rm -rf $(VENV) .venv-infra .venv-hcl .tools $(STATE) demo-out infra/cdk/node_modules infra/cdk/dist
