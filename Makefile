# keyturn — the two commands a newcomer needs are `make demo` and `make test`.
# Everything they need is installed into this folder (.venv/, target/, .local/).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

MOTO_PORT ?= 4566
VENV      := .venv
PY        := $(VENV)/bin/python
STATE     := .local
KEYTURN   := target/debug/keyturn
# The Lambda functions (binaries under functions/); the CLI is not one.
FUNCTIONS := scanner
# The demo runs on a fixed clock so it tells the same story whenever it runs.
DEMO_NOW  ?= 2026-11-24T09:00:00Z

# Every target talks to the local stack only, whatever the calling shell has
# set: fake credentials, loopback endpoint, no profile.
export AWS_ENDPOINT_URL      := http://127.0.0.1:$(MOTO_PORT)
export AWS_REGION            := us-east-1
export AWS_DEFAULT_REGION    := us-east-1
export AWS_ACCESS_KEY_ID     := testing
export AWS_SECRET_ACCESS_KEY := testing
unexport AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export KEYTURN_STATE_MACHINE_ARN := arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation

.PHONY: help demo test lint build up down lambdas clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: tests/localstack/requirements.txt
	@echo "==> Python venv for the local stack ($(VENV))"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

build: ## Build every crate (dev profile)
	cargo build --workspace

up: $(VENV)/.installed build ## Start the local stack (moto on 127.0.0.1:4566) and create tables
	@mkdir -p $(STATE)
	@if [ -f $(STATE)/moto.pid ] && kill -0 "$$(cat $(STATE)/moto.pid)" 2>/dev/null; then \
	  echo "==> local stack already running (pid $$(cat $(STATE)/moto.pid))"; \
	else \
	  echo "==> starting the local stack on 127.0.0.1:$(MOTO_PORT) (log: $(STATE)/moto.log)"; \
	  setsid nohup $(PY) tests/localstack/launcher.py --port $(MOTO_PORT) >$(STATE)/moto.log 2>&1 </dev/null & \
	  echo $$! > $(STATE)/moto.pid; \
	fi
	@$(PY) tests/localstack/launcher.py --port $(MOTO_PORT) --wait-ready 30 \
	  || { echo "local stack did not answer in 30 s; see $(STATE)/moto.log"; tail -20 $(STATE)/moto.log; exit 1; }
	@$(KEYTURN) dev setup

down: ## Stop the local stack
	@if [ -f $(STATE)/moto.pid ]; then \
	  pid=$$(cat $(STATE)/moto.pid); \
	  if kill "$$pid" 2>/dev/null; then \
	    for _ in $$(seq 50); do kill -0 "$$pid" 2>/dev/null || break; sleep 0.1; done; \
	    echo "==> local stack stopped"; \
	  fi; \
	  rm -f $(STATE)/moto.pid; \
	else echo "==> local stack not running"; fi

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: lint up ## Everything CI runs: lint, unit tests, end-to-end tests on the local stack
	cargo test --workspace --no-fail-fast

demo: $(VENV)/.installed build ## Run keyturn end to end on the local stack
	@$(MAKE) down >/dev/null
	@$(MAKE) up
	@DEMO_NOW=$(DEMO_NOW) KEYTURN=$(KEYTURN) bash dev/demo.sh

lambdas: ## Build the Lambda bootstraps with cargo-lambda (release, arm64 zips in target/lambda)
	@test -x $(VENV)/bin/cargo-lambda || $(VENV)/bin/pip install --quiet cargo-lambda ziglang
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip $(addprefix -p ,$(FUNCTIONS))

clean: down ## Stop the stack and remove build output and installs
	cargo clean
	rm -rf $(VENV) $(STATE) demo-out
