# Industry Brain — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCALE ?= city

.PHONY: demo test lint format bench serve venv system-deps clean

# (Re)install when pyproject.toml changes; idempotent.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests need: PostgreSQL (throwaway servers in tests).
system-deps:
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing Debian postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

demo: $(STAMP)
	$(VENV)/bin/industry-brain demo --scale $(SCALE)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) -m bench

serve: $(STAMP)
	@if $(VENV)/bin/industry-brain serve --help >/dev/null 2>&1; then \
	  $(VENV)/bin/industry-brain serve; \
	else \
	  echo "The web platform (issue 8) is not built yet: there is nothing to serve."; exit 1; \
	fi

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
