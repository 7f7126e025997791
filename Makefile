# The commands the README names. `make demo` runs the main job on the embedded local stack;
# `make test` runs every check. Both set themselves up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
PYTEST_ARGS ?=
#: benchmark modules to run (all when empty), e.g. BENCH=archive
BENCH     ?=
#: pytest-xdist workers for `make pytest` (each worker runs whole modules, with stacks of its own,
#: tests/conftest.py groups them);
#: one per core: more workers than cores made the timing-sensitive e2e tests flaky on 2 cores
PYTEST_WORKERS ?= 2
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: help install lint typecheck validate build asl unit integration e2e pytest test \
        sandboxes local demo invoke bench reliability clean browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements/constraints.txt requirements/dev.in requirements/runtime.in requirements/sdk.in scripts/find-python \
          clients/python/pyproject.toml
	@interp=$$(scripts/find-python) && echo "Creating $(VENV) with $$interp" && "$$interp" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -r requirements/dev.in
# the Python SDK and its `mediajobs` command (clients/python); its dependencies come from requirements/sdk.in
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e clients/python
	@touch $@

install: $(STAMP) ## create .venv (Python 3.13) with the pinned dependencies and the SDK (mediajobs command)

lint: $(STAMP) ## ruff check and format check; the service package's layers (import-linter)
	ruff check .
	ruff format --check .
	PYTHONPATH=layers/mediajobs lint-imports --no-cache

typecheck: $(STAMP) ## mypy --strict over the service code, the local stack and the sandboxes
	mypy

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

asl: $(STAMP) node_modules/.installed ## check statemachine/*.asl.json: moto's ASL parser, asl-validator, substitutions
	$(PY) scripts/check_asl.py statemachine/*.asl.json

validate: $(STAMP) ## sam validate --lint (cfn-lint rules) over template.yaml
	sam validate --lint --template template.yaml

build: $(STAMP) node_modules/.installed ## sam build into .aws-sam/ (the layer with every module's bytecode: layers/mediajobs/Makefile; the console ships swagger-ui-dist)
	sam build --template template.yaml --parallel
	$(PY) scripts/check_layer_bytecode.py .aws-sam/build/MediajobsLayer/python

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the internet);
# CHROMIUM=/path/to/chromium names another one.
browser: ## Chromium for the browser tests (apt-get install chromium when root)
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "The browser tests (tests/e2e/test_console.py, test_docs_page.py) need Chromium:" >&2; \
	  echo "  sudo apt-get install -y chromium   (or set CHROMIUM=/path/to/chromium)" >&2; \
	  exit 1; \
	fi

pytest: $(STAMP) node_modules/.installed browser ## every pytest tier (unit, integration, e2e, reliability) on PYTEST_WORKERS workers
	$(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_XDIST) $(PYTEST_ARGS)

integration: $(STAMP)
	$(PY) -m pytest tests/integration $(PYTEST_XDIST) $(PYTEST_ARGS)

e2e: $(STAMP) node_modules/.installed browser
	$(PY) -m pytest tests/e2e $(PYTEST_XDIST) $(PYTEST_ARGS)

# The static checks run beside pytest (whose time is mostly waiting on jobs); each target's
# output is printed whole when it ends. Any failure fails `make test`.
test: $(STAMP) node_modules/.installed browser ## every check: ruff, mypy, sam validate --lint, ASL, sam build, pytest
	$(MAKE) --no-print-directory -j 6 --output-sync=target lint typecheck validate asl build pytest

sandboxes: $(STAMP) ## serve the three provider sandboxes on 127.0.0.1 until stopped
	$(PY) -m local.sandboxes

local: $(STAMP) node_modules/.installed ## serve the embedded local stack (API on 127.0.0.1:3000) until stopped
	$(PY) -m local.stack serve

demo: $(STAMP) ## the main job: one job per provider on the local stack, outputs saved under out/
	$(PY) -m local.demo

invoke: $(STAMP) ## run one function with one event: make invoke FUNCTION=ApiFunction EVENT=events/x.json
	$(PY) -m local.invoke "$(FUNCTION)" "$(EVENT)"

reliability: $(STAMP) ## full-size fault suite (210 jobs) and burst (300 ProdVisual jobs at 60/min), with figures
	MEDIAJOBS_RELIABILITY=full $(PY) -m pytest tests/reliability -o timeout=2400 $(PYTEST_ARGS)

bench: $(STAMP) ## the benchmarks (figures printed, not asserted); one of them: make bench BENCH=archive
	$(PY) -m benchmarks $(BENCH)

clean: ## remove the venv, build output and caches
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache out
