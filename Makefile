# The two commands of the README: `make up` and `make test`. Both install into .venv first.
# The first Python 3.11+ on PATH, probed once (:=) and quietly: pyenv's shim for a version that is not installed
# prints "command not found" every time it runs.
ifndef PYTHON
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Two workers, each with its own broker and database; a module (or the browser package, which shares one desk)
# stays on one worker so its desk starts once (tests/conftest.py). TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

.PHONY: install up demo test test-all lint scan typecheck bench clean system-deps

# The first install takes minutes (mostly downloads): say what is happening, count packages as pip resolves them,
# and show pip's own output only when it fails.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (tried python3.13, python3.12, python3.11, python3)"; exit 1; }
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip"
	@$(BIN)/python -m pip install -q --upgrade pip
	@echo "==> [3/3] installing Frontline and its dependencies into $(VENV) (the first time takes a few minutes)"
	@{ $(BIN)/python -m pip install --progress-bar off -e '.[test]' 2>&1 || echo "PIP-FAILED"; } | awk '\
		{ out = out $$0 "\n" } \
		/^Collecting / { n++; printf "\r    %d packages resolved", n; fflush() } \
		/^Installing collected packages/ { printf "\n    installing them\n"; fflush() } \
		/^PIP-FAILED$$/ { failed = 1 } \
		END { if (failed) { printf "\n%s", out; exit 1 } print "    done" }'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages some tests need (IMAP server); skipped where apt-get is unavailable.
system-deps:
	@bash scripts/system-deps.sh

# `make up DEMO=1` also loads the demo desk once everything is up.
up: $(STAMP)
	$(BIN)/frontline up $(if $(DEMO),--demo,)

# With `make up` running: a demo desk (lines, teams, agents, clients, SLA, a few dozen tickets in every state and
# queue) through the public APIs; running it again adds only what is missing.
demo: $(STAMP)
	$(BIN)/frontline demo

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
	$(BIN)/python -m pytest -m "not slow" $(XDIST) $(PYTEST_ARGS)

test-all: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
