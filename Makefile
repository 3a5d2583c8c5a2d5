# Industry Brain — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCALE ?= city
# REGION: prefecture code of the demo city (empty = Huzhou 330500), e.g. make demo REGION=330100
REGION ?=

.PHONY: demo test lint format bench bench-deps serve venv system-deps assets clean

# (Re)install when pyproject.toml changes; idempotent.
# uv installs the same requirements as pip, about 2.5x faster (82 → 32 s here, measured: parallel
# downloads and links, a cache of built wheels); pip does it when uv cannot be installed.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]' \
	  || $(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# ECharts and htmx from npm, vendored into the web package (build output, not committed).
ASSETS := src/industry_brain/web/static/vendor/echarts.min.js
$(ASSETS): package.json $(STAMP)
	$(PY) -m industry_brain.web.build_assets
assets: $(ASSETS)

# Debian packages the tests need: PostgreSQL (throwaway servers in tests), Chromium (browser tests),
# ClamAV (clamscan and clamd: the report files' virus scan).
system-deps:
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing Debian postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! test -x /usr/bin/chromium; then \
	  echo "installing Debian chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi
	@if ! command -v pdftotext >/dev/null; then \
	  echo "installing Debian poppler-utils (pdftotext: the diagnosis report test reads the PDF)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	fi
	@if ! command -v clamscan >/dev/null || ! test -x /usr/sbin/clamd; then \
	  echo "installing Debian clamav, clamav-daemon (virus scan of uploaded report files; the test builds its own signatures)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clamav clamav-daemon >/dev/null; \
	fi

demo: $(STAMP) $(ASSETS)
	$(VENV)/bin/industry-brain demo --scale $(SCALE) $(if $(REGION),--region $(REGION))
	@echo "Open the platform: $(if $(REGION),IB_JURISDICTION=$(REGION) )$(VENV)/bin/industry-brain serve  →  http://127.0.0.1:8000/login (users of each role are listed above; password Demo@2026)"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

# Two workers (the machine has 2 cores); tests/conftest.py keeps each module, the browser tests
# and the PySpark tests together on one worker so shared fixtures are built once.
# Bytecode caching on, whatever the shell says (PYTHONDONTWRITEBYTECODE=1 on some machines):
# otherwise every worker and every subprocess the tests start (CLI commands, servers, import
# processes) compiles the platform's sources again, and pytest rewrites every test module's
# asserts on each worker (collection 24.9 → 16.3 s a worker, a CLI start 2.2 → 1.6 s, measured).
TEST_WORKERS ?= 2
test: $(STAMP) $(ASSETS) system-deps lint
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=25

# wrk: the load client of `python -m bench ids` and `python -m bench web` (C, far less CPU per
# request than a Python client on the shared cores); without it they fall back to Python clients.
bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  echo "installing Debian wrk (load client of bench ids and web)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

bench: $(STAMP) bench-deps
	$(PY) -m bench

serve: $(STAMP) $(ASSETS)
	$(if $(REGION),IB_JURISDICTION=$(REGION) )$(VENV)/bin/industry-brain serve

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
