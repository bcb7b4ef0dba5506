"""Every bad argument raises a typed error naming the problem, and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from powermem import AsyncMemory, ConfigError, InvalidInputError, PowermemError
from powermem.errors import InvalidFilterError

Call = Callable[[AsyncMemory, int], Awaitable[Any]]

BAD_CALLS: list[tuple[str, Call, str]] = [
    ("messages wrong type", lambda m, i: m.add(42, user_id="u"), "messages must be"),
    ("list with non-dict", lambda m, i: m.add(["hello"], user_id="u"), r"messages\[0\] must be a dict"),
    ("dict without content", lambda m, i: m.add({"role": "user"}, user_id="u"), "has no 'content'"),
    ("content not a string", lambda m, i: m.add({"role": "user", "content": 3}, user_id="u"), "must be a string"),
    ("unknown role", lambda m, i: m.add({"role": "boss", "content": "x"}, user_id="u"), "role"),
    ("empty message list", lambda m, i: m.add([], user_id="u"), "empty list"),
    ("all-blank content", lambda m, i: m.add([{"role": "user", "content": "  "}], user_id="u", infer=False), "non-blank"),
    ("no scope id", lambda m, i: m.add("hello"), "user_id, agent_id or run_id"),
    ("scope id not a string", lambda m, i: m.add("hello", user_id=5), "user_id must be a string"),
    ("blank scope id", lambda m, i: m.add("hello", user_id="  "), "non-blank"),
    ("metadata not a dict", lambda m, i: m.add("hello", user_id="u", metadata=["x"]), "metadata must be a dict"),
    ("metadata not JSON", lambda m, i: m.add("hello", user_id="u", metadata={"x": object()}), "JSON"),
    ("infer not bool", lambda m, i: m.add("hello", user_id="u", infer="yes"), "infer must be a bool"),
    ("search limit < 1", lambda m, i: m.search("q", user_id="u", limit=0), "limit must be"),
    ("get_all limit < 1", lambda m, i: m.get_all(user_id="u", limit=-1), "limit must be"),
    ("get_all negative offset", lambda m, i: m.get_all(user_id="u", offset=-1), "offset must be"),
    ("get_all bad sort", lambda m, i: m.get_all(user_id="u", sort_by="embedding"), "sort_by"),
    ("get_all bad order", lambda m, i: m.get_all(user_id="u", order="sideways"), "order"),
    ("threshold above 1", lambda m, i: m.search("q", user_id="u", threshold=1.5), "threshold"),
    ("threshold below 0", lambda m, i: m.search("q", user_id="u", threshold=-0.1), "threshold"),
    ("query not a string", lambda m, i: m.search(None, user_id="u"), "query must be a string"),
    ("non-numeric memory_id get", lambda m, i: m.get("abc"), "memory_id"),
    ("non-numeric memory_id update", lambda m, i: m.update("12x", content="y"), "memory_id"),
    ("non-numeric memory_id delete", lambda m, i: m.delete("DROP TABLE"), "memory_id"),
    ("non-numeric memory_id history", lambda m, i: m.history(1.5), "memory_id"),
    ("unknown filter operator", lambda m, i: m.get_all(user_id="u", filters={"a": {"$regex": "x"}}), "unknown operator"),
    ("bad filter key", lambda m, i: m.search("q", user_id="u", filters={"a-b": 1}), "invalid filter key"),
    ("bad filter key injection", lambda m, i: m.get_all(user_id="u", filters={"x') OR 1=1 --": 1}), "invalid filter key"),
    ("in with non-list", lambda m, i: m.get_all(user_id="u", filters={"a": {"in": "abc"}}), "takes a list"),
    ("filter value wrong type", lambda m, i: m.get_all(user_id="u", filters={"a": {"gt": [1]}}), "filter values"),
    ("filters not a dict", lambda m, i: m.get_all(user_id="u", filters=[1]), "filters must be a dict"),
    ("bad filter in add", lambda m, i: m.add("x", user_id="u", filters={"a": {"bogus": 1}}), "unknown operator"),
    ("update neither", lambda m, i: m.update(i), "content or metadata"),
    ("update blank content", lambda m, i: m.update(i, content="   "), "non-blank"),
    ("delete_all without scope", lambda m, i: m.delete_all(), "user_id, agent_id or run_id"),
]


@pytest.mark.parametrize(("name", "call", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
async def test_bad_input_raises_and_changes_nothing(memory: AsyncMemory, name: str, call: Call, message: str) -> None:
    existing = (await memory.add("Canary memory", user_id="u", metadata={"k": 1}, infer=False))["results"][0]
    before = await memory.get_all(limit=100)
    with pytest.raises(InvalidInputError, match=message) as caught:
        await call(memory, existing["id"])
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, PowermemError)
    assert await memory.get_all(limit=100) == before
    assert [e["event"] for e in await memory.history(existing["id"])] == ["ADD"]


def test_filter_errors_are_invalid_filter_errors() -> None:
    from powermem.filters import parse_filters

    with pytest.raises(InvalidFilterError):
        parse_filters({"NOT": []})


@pytest.mark.parametrize(
    "config",
    [
        {"store": {"provider": "mongodb"}},
        {"llm": {"provider": "anthropic-magic"}},
        {"embedding": {"provider": "word2vec"}},
        {"search": {"preset": "psychic"}},
        {"unknown_section": {}},
        "not a dict",
    ],
)
def test_unknown_provider_in_config_raises_config_error(config: Any) -> None:
    with pytest.raises(ConfigError):
        AsyncMemory(config)
