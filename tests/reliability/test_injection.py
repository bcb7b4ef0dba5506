"""Injection fuzzing on both stores (see fuzzing.py for what each example checks).

Default: a few hundred generated calls per store, and one program per limit and position
(under / at / over) of each limit. ``--run-slow``: at least 10,000 calls per store, and ten
programs per limit and position. ``POWERMEM_FUZZ_EXAMPLES`` overrides the number of examples
of any of them (for the limits, the total, spread over limits and positions).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from powermem import AsyncMemory
from tests.reliability.fuzzing import run_fuzz, run_limits_fuzz
from tests.reliability.helpers import EXAMPLES_ENV, Tally, fuzz_examples
from tests.reliability.programs import LIMITS, POSITIONS
from tests.support.openai_server import ScriptedOpenAIServer

# About 4.5 generated calls per example (a first add, 1-6 more calls, a delete_all in a quarter).
DEFAULT_EXAMPLES = {"embedded": 150, "neo4j": 60}
LONG_CASES = 10_000
LONG_EXAMPLES = 3_000
BUCKETS = len(LIMITS) * len(POSITIONS)  # programs per example of the limits fuzz


def test_injection_fuzz(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                        tally: Tally) -> None:
    run_fuzz(memory_config, openai_server, store_kind, tally, fuzz_examples(DEFAULT_EXAMPLES[store_kind]))


@pytest.mark.slow
def test_injection_fuzz_long(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                             tally: Tally) -> None:
    before = _cases(tally, store_kind)
    run_fuzz(memory_config, openai_server, store_kind, tally, fuzz_examples(LONG_EXAMPLES))
    done = _cases(tally, store_kind) - before
    if not os.environ.get(EXAMPLES_ENV):
        assert done >= LONG_CASES, f"only {done} cases generated"


def test_limits_fuzz(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                     tally: Tally) -> None:
    run_limits_fuzz(memory_config, openai_server, store_kind, tally, max(1, fuzz_examples(BUCKETS) // BUCKETS))
    counts = tally.as_dict()["limits"]
    missing = [f"{limit}/{where}" for limit in LIMITS for where in POSITIONS.values()
               if not counts.get(f"{store_kind}/{limit}/{where}")]
    assert not missing, f"limits never tried: {missing}"


@pytest.mark.slow
def test_limits_fuzz_long(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                          tally: Tally) -> None:
    run_limits_fuzz(memory_config, openai_server, store_kind, tally, max(1, fuzz_examples(10 * BUCKETS) // BUCKETS))


def _cases(tally: Tally, kind: str) -> int:
    return sum(n for key, n in tally.as_dict()["cases"].items() if key.startswith(kind + "/"))


async def test_texts_without_words_do_not_break_search(memory: AsyncMemory) -> None:
    """Found by the fuzzer: a memory with no word characters (an all-zero hashing embedding)
    must not make every later vector search of its tenant fail."""
    await memory.add("Alice works at Acme", user_id="wordless", infer=False)
    for text in ['"":^^[', "!!!", "'; --", "{}"]:
        await memory.add(text, user_id="wordless", infer=False)
    for query in ["Alice", "!!!", "*:*", "'; DROP TABLE memories; --"]:
        found = await memory.search(query, user_id="wordless")
        assert all(r["user_id"] == "wordless" for r in found["results"])
    assert (await memory.search("Alice", user_id="wordless"))["results"][0]["memory"] == "Alice works at Acme"
    assert (await memory.get_all(user_id="wordless"))["total"] == 5
