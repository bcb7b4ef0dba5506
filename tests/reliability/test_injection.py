"""Injection fuzzing on both stores (see fuzzing.py for what each example checks).

Default: a few hundred generated calls per store. ``--run-slow``: at least 10,000 calls per
store. ``POWERMEM_FUZZ_EXAMPLES`` overrides the number of examples of either.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.fuzzing import run_fuzz
from tests.reliability.helpers import Tally, fuzz_examples
from tests.support.openai_server import ScriptedOpenAIServer

# About 4 calls per example (ops, plus the final delete_all of some).
DEFAULT_EXAMPLES = {"embedded": 80, "neo4j": 60}
LONG_CASES = 10_000


def test_injection_fuzz(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                        tally: Tally) -> None:
    run_fuzz(memory_config, openai_server, store_kind, tally, fuzz_examples(DEFAULT_EXAMPLES[store_kind]))


@pytest.mark.slow
def test_injection_fuzz_long(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                             tally: Tally) -> None:
    before = _cases(tally, store_kind)
    run_fuzz(memory_config, openai_server, store_kind, tally, fuzz_examples(LONG_CASES // 3))
    done = _cases(tally, store_kind) - before
    if fuzz_examples(0) == 0 or fuzz_examples(0) >= LONG_CASES // 3:
        assert done >= LONG_CASES, f"only {done} cases generated"


def _cases(tally: Tally, kind: str) -> int:
    return sum(n for key, n in tally.as_dict()["cases"].items() if key.startswith(kind + "/"))
