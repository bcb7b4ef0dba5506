"""Every filter operator and combination gives the same answer on both stores."""

from __future__ import annotations

import pytest

from powermem import AsyncMemory

ROWS = [
    ("alpha", {"category": "food", "priority": 1, "score": 0.5, "done": True, "title": "Trip to Rome"}),
    ("beta", {"category": "food", "priority": 3, "score": 2.5, "done": False, "title": "Weekly shopping"}),
    ("gamma", {"category": "travel", "priority": 2, "title": "Business TRIP"}),
    ("delta", {"category": "work", "priority": "high", "tags": ["x", "y"]}),
    ("epsilon", {}),
]

CASES = [
    ({"category": "food"}, {"alpha", "beta"}),
    ({"category": {"eq": "travel"}}, {"gamma"}),
    ({"category": {"$ne": "food"}}, {"gamma", "delta", "epsilon"}),
    ({"priority": {"gt": 1}}, {"beta", "gamma"}),
    ({"priority": {"gte": 2}}, {"beta", "gamma"}),
    ({"priority": {"lt": 3}}, {"alpha", "gamma"}),
    ({"priority": {"$lte": 1}}, {"alpha"}),
    ({"priority": {"gte": 1, "lte": 2}}, {"alpha", "gamma"}),
    ({"priority": "high"}, {"delta"}),
    ({"priority": {"gt": "a"}}, {"delta"}),
    ({"score": {"gt": 1}}, {"beta"}),
    ({"score": 0.5}, {"alpha"}),
    ({"priority": 1.0}, {"alpha"}),
    ({"done": True}, {"alpha"}),
    ({"done": False}, {"beta"}),
    ({"done": 1}, set()),
    ({"category": {"in": ["travel", "work"]}}, {"gamma", "delta"}),
    ({"category": {"$nin": ["food"]}}, {"gamma", "delta", "epsilon"}),
    ({"priority": {"in": [1, "high"]}}, {"alpha", "delta"}),
    ({"category": {"in": []}}, set()),
    ({"title": {"contains": "Trip"}}, {"alpha"}),
    ({"title": {"icontains": "trip"}}, {"alpha", "gamma"}),
    ({"title": {"exists": True}}, {"alpha", "beta", "gamma"}),
    ({"title": {"$exists": False}}, {"delta", "epsilon"}),
    ({"tags": {"exists": True}}, set()),
    ({"memory": "beta"}, {"beta"}),
    ({"memory": {"icontains": "ELT"}}, {"delta"}),
    ({"category": "food", "priority": 3}, {"beta"}),
    ({"AND": [{"category": "food"}, {"priority": {"lt": 2}}]}, {"alpha"}),
    ({"$or": [{"category": "travel"}, {"done": True}]}, {"alpha", "gamma"}),
    ({"NOT": {"category": "food"}}, {"gamma", "delta", "epsilon"}),
    ({"NOT": {"priority": {"gt": 1}}}, {"alpha", "delta", "epsilon"}),
    ({"OR": [{"AND": [{"category": "food"}, {"NOT": {"done": True}}]}, {"priority": "high"}]}, {"beta", "delta"}),
    ({"$and": [{"$or": [{"category": "food"}, {"category": "work"}]}, {"$not": {"memory": "alpha"}}]}, {"beta", "delta"}),
    ({"created_at": {"gte": "2000-01-01T00:00:00+00:00"}}, {"alpha", "beta", "gamma", "delta", "epsilon"}),
    ({"created_at": {"lt": "2000-01-01T00:00:00"}}, set()),
]


@pytest.fixture
async def filtered(memory: AsyncMemory) -> AsyncMemory:
    for text, metadata in ROWS:
        await memory.add({"role": "user", "content": text}, user_id="f", metadata=metadata, infer=False)
    await memory.add({"role": "user", "content": "alpha"}, user_id="other", metadata=ROWS[0][1], infer=False)
    return memory


@pytest.mark.parametrize(("filters", "expected"), CASES, ids=[str(c[0]) for c in CASES])
async def test_get_all_and_search_honour_filters(filtered: AsyncMemory, filters: dict, expected: set) -> None:
    listed = await filtered.get_all(user_id="f", filters=filters)
    assert {r["memory"] for r in listed["results"]} == expected
    assert listed["total"] == len(expected)
    found = await filtered.search("alpha beta gamma delta epsilon", user_id="f", filters=filters, limit=10)
    assert {r["memory"] for r in found["results"]} == expected
