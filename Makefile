# The two commands: `make run` (the whole service on embedded defaults) and `make test`.
# Everything the service and the tests need is installed from here, so a fresh machine with
# Python 3.11+ and make is enough.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
NODE_DIR := tests/sentry_node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed-$(shell sha1sum $(NODE_DIR)/package.json 2>/dev/null | cut -c1-12)

.PHONY: install run test test-fast lint browser node-deps bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "crashsvc needs Python 3.11+ (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(BIN)/crashsvc serve

# Chromium for the browser tests (Debian's package; Playwright drives it, it never downloads one).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and cannot be installed here: browser tests will be skipped"; fi

# The real @sentry/node client, pinned, for the Sentry-compatibility tests.
$(NODE_STAMP): $(NODE_DIR)/package.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(NODE_DIR) && npm install --no-audit --no-fund --silent && touch $(notdir $@) && mv $(notdir $@) node_modules/; \
	else echo "npm not found: the @sentry/node test will be skipped"; fi

node-deps: $(NODE_STAMP)

test: install browser node-deps
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not browser and not fault"

lint: install
	$(BIN)/ruff check crashsvc workers config tests bench
	$(BIN)/ruff format --check crashsvc workers config tests bench

bench: install
	@echo "see bench/README.md: each benchmark is run on its own"

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache
