# Set-up for newcomers is two commands: `make demo` and `make test`.
# Both create (and then reuse) the virtual environment in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types unit redis-server bench clean

# The venv is rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/session-inspector demo

# Tests start their own redis-server processes (standalone, cluster, TLS, ACL)
# on free loopback ports; they never touch a server on 6379. The TUI's
# end-to-end test drives the real command in tmux.
redis-server:
	@if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null \
	    || ! command -v openssl >/dev/null || ! command -v tmux >/dev/null; then \
	  echo "installing redis-server, redis-tools, openssl and tmux with apt-get"; \
	  SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server redis-tools openssl tmux; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) redis-server
	$(BIN)/python -m pytest

test: lint types unit

bench: $(STAMP) redis-server
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
