# The two commands of the README: `make up` and `make test`. Both install into .venv first.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install up test test-all lint scan typecheck bench clean system-deps

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages some tests need (IMAP server); skipped where apt-get is unavailable.
system-deps:
	@bash scripts/system-deps.sh

up: $(STAMP)
	$(BIN)/frontline up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services/*/domain.py

# Code scan (bandit: any high-severity finding fails) and dependency audit (.ci/audit_dependencies.py: a known
# vulnerability fails; an unreachable vulnerability service is reported as SKIPPED).
scan: $(STAMP)
	$(BIN)/bandit -q -r shared services deploy --severity-level high
	$(BIN)/python .ci/audit_dependencies.py

test: $(STAMP) system-deps scan
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
