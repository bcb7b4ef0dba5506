"""More malformed arguments, table-driven, on both stores (complements tests/contract/test_bad_input.py).

Every call raises ``InvalidInputError`` (a ``PowermemError`` and a ``ValueError``) naming the
bad argument, and writes nothing: the whole store, histories included, is unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from powermem import AsyncMemory, InvalidInputError, PowermemError
from tests.reliability.helpers import Tally, store_snapshot

Call = Callable[[AsyncMemory, int], Awaitable[Any]]
LONG_ID = "u" * 257

BAD_CALLS: list[tuple[str, Call, str]] = [
    # scopes of get / update / delete / history / get_all / search / delete_all
    ("get user_id int", lambda m, i: m.get(i, user_id=5), "user_id must be a string"),
    ("get agent_id list", lambda m, i: m.get(i, agent_id=["a"]), "agent_id must be a string"),
    ("get blank user_id", lambda m, i: m.get(i, user_id=""), "user_id must be a non-blank"),
    ("get user_id with NUL", lambda m, i: m.get(i, user_id="u\x00"), "user_id must be a non-blank"),
    ("get user_id too long", lambda m, i: m.get(i, user_id=LONG_ID), "at most 256"),
    ("update user_id bytes", lambda m, i: m.update(i, content="x", user_id=b"u"), "user_id must be a string"),
    ("update agent_id blank", lambda m, i: m.update(i, content="x", agent_id="   "), "agent_id must be a non-blank"),
    ("delete user_id int", lambda m, i: m.delete(i, user_id=1), "user_id must be a string"),
    ("delete agent_id dict", lambda m, i: m.delete(i, agent_id={"a": 1}), "agent_id must be a string"),
    ("history user_id float", lambda m, i: m.history(i, user_id=1.5), "user_id must be a string"),
    ("history agent_id blank", lambda m, i: m.history(i, agent_id="\t"), "agent_id must be a non-blank"),
    ("get_all user_id int", lambda m, i: m.get_all(user_id=7), "user_id must be a string"),
    ("get_all run_id list", lambda m, i: m.get_all(user_id="u", run_id=["r"]), "run_id must be a string"),
    ("get_all agent_id too long", lambda m, i: m.get_all(agent_id=LONG_ID), "at most 256"),
    ("search user_id int", lambda m, i: m.search("q", user_id=3), "user_id must be a string"),
    ("search run_id blank", lambda m, i: m.search("q", user_id="u", run_id=""), "run_id must be a non-blank"),
    ("delete_all user_id int", lambda m, i: m.delete_all(user_id=1), "user_id must be a string"),
    ("delete_all blank agent", lambda m, i: m.delete_all(agent_id=" "), "agent_id must be a non-blank"),
    ("delete_all all=1 is not True", lambda m, i: m.delete_all(all=1), "all=True"),
    ("delete_all all='yes'", lambda m, i: m.delete_all(all="yes"), "all=True"),
    ("add run_id int", lambda m, i: m.add("x", user_id="u", run_id=3), "run_id must be a string"),
    ("add agent_id list", lambda m, i: m.add("x", agent_id=["a"]), "agent_id must be a string"),
    ("add blank agent_id", lambda m, i: m.add("x", user_id="u", agent_id="", infer=False), "agent_id must be a non-blank"),
    ("add user_id too long", lambda m, i: m.add("x", user_id=LONG_ID), "at most 256"),
    ("add user_id with U+001F", lambda m, i: m.add("x", user_id="a\x1fb"), "U\\+001F"),
    # memory ids
    ("get id None", lambda m, i: m.get(None), "memory_id"),
    ("get id bool", lambda m, i: m.get(True), "memory_id"),
    ("get id zero", lambda m, i: m.get(0), "memory_id"),
    ("get id negative", lambda m, i: m.get(-i), "memory_id"),
    ("get id beyond 64 bits", lambda m, i: m.get(2**64), "memory_id"),
    ("get id list", lambda m, i: m.get([i]), "memory_id"),
    ("get id empty string", lambda m, i: m.get(""), "memory_id"),
    ("get id non-ASCII digits", lambda m, i: m.get("\u0663\u0664"), "memory_id"),
    ("update id float", lambda m, i: m.update(float(i), content="x"), "memory_id"),
    ("update id None", lambda m, i: m.update(None, content="x"), "memory_id"),
    ("delete id float", lambda m, i: m.delete(1.0), "memory_id"),
    ("delete id hex string", lambda m, i: m.delete("0x1f"), "memory_id"),
    ("delete id negative string", lambda m, i: m.delete(f"-{i}"), "memory_id"),
    ("history id None", lambda m, i: m.history(None), "memory_id"),
    ("history id bool", lambda m, i: m.history(False), "memory_id"),
    # search
    ("search filters a list", lambda m, i: m.search("q", user_id="u", filters=[{"k": 1}]), "filters must be a dict"),
    ("search filters a string", lambda m, i: m.search("q", user_id="u", filters="k = 1"), "filters must be a dict"),
    ("search limit str", lambda m, i: m.search("q", user_id="u", limit="10"), "limit must be"),
    ("search limit float", lambda m, i: m.search("q", user_id="u", limit=5.0), "limit must be"),
    ("search limit bool", lambda m, i: m.search("q", user_id="u", limit=True), "limit must be"),
    ("search limit None", lambda m, i: m.search("q", user_id="u", limit=None), "limit must be"),
    ("search threshold str", lambda m, i: m.search("q", user_id="u", threshold="0.5"), "threshold"),
    ("search threshold bool", lambda m, i: m.search("q", user_id="u", threshold=True), "threshold"),
    ("search threshold NaN", lambda m, i: m.search("q", user_id="u", threshold=math.nan), "threshold"),
    ("search threshold list", lambda m, i: m.search("q", user_id="u", threshold=[0.5]), "threshold"),
    ("search query bytes", lambda m, i: m.search(b"q", user_id="u"), "query must be a string"),
    ("search query int", lambda m, i: m.search(5, user_id="u"), "query must be a string"),
    ("search query lone surrogate", lambda m, i: m.search("a\ud800", user_id="u"), "query"),
    ("blank search still validates filters", lambda m, i: m.search("  ", user_id="u", filters={"a-b": 1}), "invalid filter key"),
    ("blank search still validates limit", lambda m, i: m.search("", user_id="u", limit=0), "limit must be"),
    ("search filter value NaN", lambda m, i: m.search("q", user_id="u", filters={"k": math.nan}), "not a comparable"),
    ("search filter int beyond 64 bits", lambda m, i: m.search("q", user_id="u", filters={"k": 2**64}), "64-bit"),
    ("search filter surrogate", lambda m, i: m.search("q", user_id="u", filters={"k": {"contains": "\udc00"}}), "Unicode"),
    ("search filter exists non-bool", lambda m, i: m.search("q", user_id="u", filters={"k": {"exists": 1}}), "exists"),
    ("search filter bool order", lambda m, i: m.search("q", user_id="u", filters={"k": {"gt": True}}), "booleans"),
    ("search filter bad timestamp", lambda m, i: m.search("q", user_id="u", filters={"created_at": {"gt": "soon"}}), "ISO-8601"),
    ("search filter NOT of a list", lambda m, i: m.search("q", user_id="u", filters={"NOT": [{"k": 1}]}), "NOT takes"),
    ("search filter OR empty", lambda m, i: m.search("q", user_id="u", filters={"OR": []}), "non-empty list"),
    ("search filter non-str key", lambda m, i: m.search("q", user_id="u", filters={1: 2}), "filter keys must be strings"),
    ("search filter empty op object", lambda m, i: m.search("q", user_id="u", filters={"k": {}}), "empty operator"),
    # get_all
    ("get_all limit str", lambda m, i: m.get_all(user_id="u", limit="10"), "limit must be"),
    ("get_all limit float", lambda m, i: m.get_all(user_id="u", limit=2.5), "limit must be"),
    ("get_all limit bool", lambda m, i: m.get_all(user_id="u", limit=True), "limit must be"),
    ("get_all offset str", lambda m, i: m.get_all(user_id="u", offset="1"), "offset must be"),
    ("get_all offset None", lambda m, i: m.get_all(user_id="u", offset=None), "offset must be"),
    ("get_all offset float", lambda m, i: m.get_all(user_id="u", offset=1.0), "offset must be"),
    ("get_all sort_by None", lambda m, i: m.get_all(user_id="u", sort_by=None), "sort_by"),
    ("get_all sort_by list", lambda m, i: m.get_all(user_id="u", sort_by=["id"]), "sort_by"),
    ("get_all sort_by injection", lambda m, i: m.get_all(user_id="u", sort_by="id; DROP TABLE memories"), "sort_by"),
    ("get_all order None", lambda m, i: m.get_all(user_id="u", order=None), "order"),
    ("get_all order upper", lambda m, i: m.get_all(user_id="u", order="DESC"), "order"),
    ("get_all order injection", lambda m, i: m.get_all(user_id="u", order="desc, (SELECT 1)"), "order"),
    ("get_all filters a string", lambda m, i: m.get_all(user_id="u", filters="k"), "filters must be a dict"),
    # update content / metadata
    ("update content int", lambda m, i: m.update(i, content=5), "content must be"),
    ("update content bytes", lambda m, i: m.update(i, content=b"x"), "content must be"),
    ("update content empty", lambda m, i: m.update(i, content=""), "content must be"),
    ("update content lone surrogate", lambda m, i: m.update(i, content="x\ud800"), "content"),
    ("update metadata list", lambda m, i: m.update(i, metadata=[("k", 1)]), "metadata must be a dict"),
    ("update metadata str", lambda m, i: m.update(i, metadata="k=1"), "metadata must be a dict"),
    ("update metadata int key", lambda m, i: m.update(i, metadata={1: "a"}), "metadata keys"),
    ("update metadata empty key", lambda m, i: m.update(i, metadata={"": "a"}), "metadata keys"),
    ("update metadata object value", lambda m, i: m.update(i, metadata={"k": object()}), "JSON"),
    ("update metadata NaN", lambda m, i: m.update(i, metadata={"k": math.nan}), "finite"),
    ("update metadata inf nested", lambda m, i: m.update(i, metadata={"k": [math.inf]}), "JSON"),
    ("update metadata int beyond 64 bits", lambda m, i: m.update(i, metadata={"k": 2**64}), "64-bit"),
    ("update metadata set", lambda m, i: m.update(i, metadata={"k": {1, 2}}), "JSON"),
    ("update metadata surrogate key", lambda m, i: m.update(i, metadata={"k\udfff": 1}), "Unicode"),
    ("update bad metadata with good content", lambda m, i: m.update(i, content="new", metadata={"k": math.nan}), "finite"),
    ("update good metadata with bad content", lambda m, i: m.update(i, content=" ", metadata={"k": 1}), "content"),
    # add
    ("add messages tuple", lambda m, i: m.add(({"role": "user", "content": "x"},), user_id="u"), "messages must be"),
    ("add messages bytes", lambda m, i: m.add(b"hello", user_id="u"), "messages must be"),
    ("add messages None", lambda m, i: m.add(None, user_id="u"), "messages must be"),
    ("add list with None", lambda m, i: m.add([None], user_id="u"), r"messages\[0\] must be a dict"),
    ("add content None", lambda m, i: m.add({"role": "user", "content": None}, user_id="u"), "must be a string"),
    ("add role None", lambda m, i: m.add({"role": None, "content": "x"}, user_id="u"), "role"),
    ("add name int", lambda m, i: m.add({"role": "user", "content": "x", "name": 3}, user_id="u"), "name"),
    ("add name surrogate", lambda m, i: m.add({"role": "user", "content": "x", "name": "\ud800"}, user_id="u"), "name"),
    ("add content surrogate", lambda m, i: m.add("hi \udfff", user_id="u", infer=False), "messages"),
    ("add only system messages", lambda m, i: m.add([{"role": "system", "content": "x"}], user_id="u", infer=False), "non-system"),
    ("add second message bad", lambda m, i: m.add([{"role": "user", "content": "ok"}, {"role": "user"}], user_id="u",
                                                   infer=False), r"messages\[1\]"),
    ("add metadata int key", lambda m, i: m.add("x", user_id="u", metadata={1: "a"}), "metadata keys"),
    ("add metadata NaN", lambda m, i: m.add("x", user_id="u", metadata={"k": math.nan}), "finite"),
    ("add metadata inf", lambda m, i: m.add("x", user_id="u", metadata={"k": -math.inf}, infer=False), "finite"),
    ("add metadata nested NaN", lambda m, i: m.add("x", user_id="u", metadata={"k": {"n": math.nan}}), "JSON"),
    ("add metadata int beyond 64 bits", lambda m, i: m.add("x", user_id="u", metadata={"k": -(2**70)}), "64-bit"),
    ("add filters a list", lambda m, i: m.add("x", user_id="u", filters=[1]), "filters must be a dict"),
    ("add filters bad key", lambda m, i: m.add("x", user_id="u", filters={"k'": 1}), "invalid filter key"),
    ("add infer None", lambda m, i: m.add("x", user_id="u", infer=None), "infer must be a bool"),
    ("add infer int", lambda m, i: m.add("x", user_id="u", infer=0), "infer must be a bool"),
]


async def test_more_bad_input_raises_and_changes_nothing(memory: AsyncMemory, store_kind: str,
                                                         tally: Tally) -> None:
    """The whole table against one store (each rejected call must leave it exactly as it was)."""
    existing = (await memory.add("Canary memory about Alice", user_id="u", metadata={"k": 1}, infer=False))["results"][0]
    await memory.add("Second canary", user_id="v", agent_id="a", run_id="r", infer=False)
    before = await store_snapshot(memory)
    failures: list[str] = []
    for name, call, message in BAD_CALLS:
        tally.add("cases", f"{store_kind}/bad-input")
        try:
            await call(memory, existing["id"])
        except InvalidInputError as exc:
            if not re.search(message, str(exc)):
                failures.append(f"{name}: message {str(exc)!r} does not match {message!r}")
            elif not (isinstance(exc, ValueError) and isinstance(exc, PowermemError)):
                failures.append(f"{name}: {type(exc).__name__} is not a PowermemError and ValueError")
        except Exception as exc:
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{name}: accepted")
        if await store_snapshot(memory) != before:
            failures.append(f"{name}: the store changed")
            before = await store_snapshot(memory)
    assert not failures, "\n".join(failures)


def test_the_table_has_no_duplicate_names() -> None:
    names = [name for name, _, _ in BAD_CALLS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("agent_id", [5, "", " ", "a\x00", "a\x1fb", "x" * 257, ["a"]])
def test_bad_default_agent_id_is_refused_at_construction(agent_id: Any) -> None:
    with pytest.raises(InvalidInputError, match="agent_id"):
        AsyncMemory({"embedding": {"provider": "hashing", "dims": 8}}, agent_id=agent_id)


async def test_default_agent_applies_only_when_agent_id_is_none(memory_config: dict[str, Any]) -> None:
    async with AsyncMemory(memory_config, agent_id="helper") as m:
        await m.reset()
        [record] = (await m.add("Alice likes tea", user_id="u", infer=False))["results"]
        assert record["agent_id"] == "helper"
        with pytest.raises(InvalidInputError, match="agent_id"):
            await m.add("Alice likes tea", user_id="u", agent_id="", infer=False)
        assert (await m.get_all(user_id="u"))["total"] == 1
