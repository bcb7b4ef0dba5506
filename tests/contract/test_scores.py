"""What ``score`` means, on both stores: a calibrated relevance, not a rank.

An unrelated query scores below the documented relevant threshold whatever the tenant holds,
and ``threshold`` at that value drops it; results of different evidence do not tie; scores
never rise down the list, so a threshold keeps a prefix of it.
"""

from __future__ import annotations

import pytest

from powermem import AsyncMemory
from powermem.search.calibration import RELEVANT

UNRELATED = "quantum chromodynamics lecture notes"
HIKING = "I like hiking in the Alps with my dog"


async def test_an_unrelated_query_in_a_one_memory_tenant_scores_low_and_threshold_drops_it(
    memory: AsyncMemory,
) -> None:
    await memory.add(HIKING, user_id="solo", infer=False)
    (only,) = (await memory.search(UNRELATED, user_id="solo"))["results"]
    assert only["memory"] == HIKING and only["score"] < RELEVANT
    assert (await memory.search(UNRELATED, user_id="solo", threshold=RELEVANT))["results"] == []
    (kept,) = (await memory.search("hiking with my dog", user_id="solo", threshold=RELEVANT))["results"]
    assert kept["memory"] == HIKING and kept["score"] >= RELEVANT


async def test_an_unrelated_query_scores_low_in_a_bigger_tenant_too(memory: AsyncMemory) -> None:
    for text in [HIKING, "Maya works at Northwind Labs", "The quarterly report is due Friday",
                 "Tomatoes need sun and water", "My sister is a pilot", "We adopted a cat named Miso"] * 3:
        await memory.add(text, user_id="crowd", infer=False)
    found = (await memory.search(UNRELATED, user_id="crowd", limit=30))["results"]
    assert found and found[0]["score"] < RELEVANT
    assert (await memory.search(UNRELATED, user_id="crowd", threshold=RELEVANT))["results"] == []


async def test_a_query_naming_someone_the_memories_never_mention_scores_low(memory: AsyncMemory) -> None:
    await memory.add("Melanie painted a sunrise over the lake", user_id="mel", infer=False)
    assert (await memory.search("What did Melanie paint?", user_id="mel"))["results"][0]["score"] >= RELEVANT
    assert (await memory.search("What did Caroline paint?", user_id="mel"))["results"][0]["score"] < RELEVANT


async def test_results_of_different_evidence_do_not_tie(memory: AsyncMemory) -> None:
    for text in ["Maya's manager lives in Porto", "Maya's sister lives in Lisbon", "Tea is best without sugar"]:
        await memory.add(text, user_id="maya", infer=False)
    found = (await memory.search("Where does Maya's manager live?", user_id="maya"))["results"]
    assert found[0]["memory"] == "Maya's manager lives in Porto"
    scores = [r["score"] for r in found]
    assert all(s < 1.0 for s in scores) and scores[0] > scores[1] > scores[2]
    assert scores[0] >= RELEVANT > scores[2]  # the tea shares nothing with the question


@pytest.mark.parametrize("limit", [1, 3, 30])
async def test_scores_never_rise_down_the_list_and_threshold_keeps_a_prefix(memory: AsyncMemory, limit: int) -> None:
    texts = ["Ada plays chess on Sundays", "Ada plays the piano", "Ada likes chess puzzles", "Chess clubs meet at noon",
             "The bakery opens at seven", "Rain is expected on Sunday", "Ada's brother plays chess too"]
    for text in texts:
        await memory.add(text, user_id="ada", infer=False)
    everything = (await memory.search("Does Ada play chess on Sundays?", user_id="ada", limit=30))["results"]
    scores = [r["score"] for r in everything]
    assert len(everything) >= 5 and scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    found = (await memory.search("Does Ada play chess on Sundays?", user_id="ada", limit=limit))["results"]
    assert [(r["id"], r["score"]) for r in found] == [(r["id"], r["score"]) for r in everything[:limit]]
    for cut in sorted(set(scores)):
        kept = (await memory.search("Does Ada play chess on Sundays?", user_id="ada", limit=30, threshold=cut))
        assert [r["id"] for r in kept["results"]] == [r["id"] for r in everything if r["score"] >= cut]
