# Set-up for newcomers is two commands: `make demo` and `make test`.
# Both create (and then reuse) the virtual environment in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo install uninstall test lint types pytest system-deps bench clean stress-test

# The venv is rebuilt when pyproject.toml changes. The packages go in with uv
# (from PyPI, into the venv by pip): the same versions pip resolves, in ~4 s
# where pip took ~19 s with a warm cache (measured on 2 cores), and no pip upgrade
# first. The demo needs only the package and its runtime dependencies
# (DEMO_STAMP); the tests add the test toolchain (STAMP, which covers both).
DEMO_STAMP := $(VENV)/.installed-demo

$(DEMO_STAMP): pyproject.toml
	@echo "setting up $(VENV): session-inspector and its runtime dependencies (first time only)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/python -m uv pip install --python $(BIN)/python -e .
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	@echo "setting up $(VENV): session-inspector and the test toolchain (first time only)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check uv
	$(BIN)/python -m uv pip install -q --python $(BIN)/python -e '.[test]'
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/session-inspector demo

# `make install` puts the command on PATH without the test toolchain: with
# pipx when it is there (and NO_PIPX is unset), otherwise a venv of its own in
# $(PREFIX)/share/session-inspector and a link in $(PREFIX)/bin.
PREFIX ?= $(HOME)/.local
INSTALL_VENV := $(PREFIX)/share/session-inspector/venv

install:
	@if [ -z "$(NO_PIPX)" ] && command -v pipx >/dev/null; then \
	  pipx install --force . ; \
	else \
	  set -e; \
	  echo "installing into $(INSTALL_VENV), linked from $(PREFIX)/bin/session-inspector"; \
	  $(PYTHON) -m venv --clear $(INSTALL_VENV); \
	  $(INSTALL_VENV)/bin/python -m pip install -q --disable-pip-version-check uv; \
	  $(INSTALL_VENV)/bin/python -m uv pip install -q --python $(INSTALL_VENV)/bin/python .; \
	  mkdir -p $(PREFIX)/bin; \
	  ln -sf $(INSTALL_VENV)/bin/session-inspector $(PREFIX)/bin/session-inspector; \
	  case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
	    *) echo "note: $(PREFIX)/bin is not on PATH; add it (export PATH=\"$(PREFIX)/bin:\$$PATH\") or run $(PREFIX)/bin/session-inspector";; \
	  esac; \
	fi

uninstall:
	rm -rf $(PREFIX)/share/session-inspector
	rm -f $(PREFIX)/bin/session-inspector

# Tests start their own redis-server processes (standalone, cluster, TLS, ACL)
# on free loopback ports; they never touch a server on 6379. The TUI's
# end-to-end test drives the real command in tmux; the sample app's page test
# drives Debian's chromium through chromedriver; the deployment test runs
# nginx as the load balancer of compose.yaml; the --ssh tests put Redis
# behind a real OpenSSH sshd in a network namespace (ip netns), with keys from
# ssh-keygen; ruby proves the Marshal gadget of the codec safety test is a real
# one (it runs under Marshal.load, and not under our reader). All come from apt,
# and only when missing.
SYSTEM_TOOLS := redis-server:redis-server redis-cli:redis-tools openssl:openssl tmux:tmux \
	chromium:chromium chromedriver:chromium-driver nginx:nginx \
	sshd:openssh-server ssh-keygen:openssh-client ip:iproute2 ruby:ruby

# sshd and ip live in /usr/sbin and /sbin, which a non-login PATH may lack.
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing with apt-get:$$missing"; \
	  SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# ruff, then the layering contracts of pyproject's [tool.importlinter]: core is
# pure, no layer imports one above it, no import cycles.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

# Two pytest-xdist workers per core: the suite mostly waits (on servers,
# subprocesses, sshd, tmux): at one worker per core it kept 2 cores only ~40%
# busy (340 CPU-s in 410 s). worksteal hands a worker that finishes early the
# queued tests of a busy one, so no long test sits at the end of a long queue.
# `make pytest ARGS="-m unit"` picks a layer (unit, redis, tui, web, ssh: the
# directories under tests/).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
pytest: $(STAMP) system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(ARGS)

# Lint and mypy (~30 s on a fresh clone, mypy without its cache) run beside
# pytest, whose workers spend much of their time waiting on servers and
# subprocesses; each target's output is printed whole when it ends (pytest's,
# the longest, last). Any of the three failing fails `make test`.
test: $(STAMP) system-deps
	$(MAKE) --no-print-directory -j 3 --output-sync=target lint types pytest

# The TUI and feed test modules STRESS_RUNS times (default 20) while one
# CPU-bound process per core spins: flaky tests show up here, not in CI.
# Logs of each run go to .stress-logs/.
STRESS_RUNS ?= 20
stress-test: $(STAMP) system-deps
	$(BIN)/python -m tests.stress --runs $(STRESS_RUNS)

bench: $(STAMP) system-deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
