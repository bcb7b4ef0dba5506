"""The real spaCy model the extractor's model tests need, or a skip of the module that asks for
it where spaCy or the model is missing (``make test`` runs those modules in .venv-nlp: see the
Makefile)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from powermem.ingest import nlp

_WHERE = "make test runs this module in .venv-nlp"


def installed_pipeline() -> Any:
    """Call at module level: the loaded pipeline, or the calling module skipped."""
    pytest.importorskip("spacy", reason=f"spaCy is not installed here: {_WHERE}")
    with warnings.catch_warnings():  # W031: the mirror's model says spaCy 2.2; it loads in 2.3 (see the Makefile)
        warnings.simplefilter("ignore", UserWarning)
        pipeline = nlp._load()
    if pipeline is None:
        pytest.skip(f"{nlp.SPACY_MODEL} is not installed here: {_WHERE}", allow_module_level=True)
    return pipeline
