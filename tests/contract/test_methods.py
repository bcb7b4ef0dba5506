"""Every method of API.md and its return shape, on both stores."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from powermem import AsyncMemory

RECORD_KEYS = {"id", "memory", "hash", "user_id", "agent_id", "run_id", "metadata", "created_at", "updated_at"}


def assert_record(record: dict, **expected: object) -> None:
    assert RECORD_KEYS <= set(record)
    assert isinstance(record["id"], int) and record["id"] > 0
    assert record["hash"] == hashlib.md5(record["memory"].encode()).hexdigest()
    for stamp in ("created_at", "updated_at"):
        assert datetime.fromisoformat(record[stamp]).utcoffset() is not None
    for key, value in expected.items():
        assert record[key] == value, key


async def test_add_string_returns_add_event(memory: AsyncMemory) -> None:
    result = await memory.add("Alice likes green tea", user_id="alice", metadata={"source": "chat"}, infer=False)
    assert set(result) == {"results", "relations", "usage"}
    assert result["relations"] == {"added_entities": [], "deleted_entities": []}
    [record] = result["results"]
    assert_record(record, memory="Alice likes green tea", user_id="alice", agent_id=None, run_id=None, event="ADD")
    assert record["metadata"] == {"source": "chat", "role": "user"}


async def test_add_message_list_stores_one_memory_per_non_system_message(memory: AsyncMemory) -> None:
    messages = [
        {"role": "system", "content": "You are helpful"},
        {"role": "user", "content": "I love hiking in the Alps", "name": "sam"},
        {"role": "assistant", "content": "The Alps are lovely"},
        {"role": "user", "content": "   "},
    ]
    result = await memory.add(messages, user_id="sam", agent_id="coach", run_id="r1", infer=False)
    texts = [r["memory"] for r in result["results"]]
    assert texts == ["I love hiking in the Alps", "The Alps are lovely"]
    assert result["results"][0]["metadata"] == {"role": "user", "name": "sam"}
    assert result["results"][1]["metadata"] == {"role": "assistant"}
    assert all(r["agent_id"] == "coach" and r["run_id"] == "r1" for r in result["results"])


async def test_add_without_llm_falls_back_to_raw_storage(memory: AsyncMemory) -> None:
    result = await memory.add({"role": "user", "content": "My cat is called Miso"}, user_id="u")
    assert [r["memory"] for r in result["results"]] == ["My cat is called Miso"]


async def test_instance_agent_id_is_the_default_scope(memory_config: dict) -> None:
    async with AsyncMemory(memory_config, agent_id="helper") as m:
        await m.reset()
        result = await m.add("Remember the milk", infer=False)
        assert result["results"][0]["agent_id"] == "helper"


async def test_get_returns_the_same_record(memory: AsyncMemory) -> None:
    added = (await memory.add("Bob plays chess", user_id="bob", infer=False))["results"][0]
    fetched = await memory.get(added["id"], user_id="bob")
    added.pop("event")
    assert fetched == added
    assert await memory.get(str(added["id"])) == added
    assert await memory.get(added["id"] + 1) is None


async def test_get_all_pages_and_sorts(memory: AsyncMemory) -> None:
    for i in range(5):
        await memory.add(f"note number {i}", user_id="pager", infer=False)
    page = await memory.get_all(user_id="pager", limit=2, offset=1)
    assert set(page) == {"results", "relations", "total"}
    assert page["total"] == 5
    assert [r["memory"] for r in page["results"]] == ["note number 3", "note number 2"]
    oldest = await memory.get_all(user_id="pager", order="asc", limit=1)
    assert oldest["results"][0]["memory"] == "note number 0"
    by_text = await memory.get_all(user_id="pager", sort_by="memory", order="desc", limit=1)
    assert by_text["results"][0]["memory"] == "note number 4"


async def test_update_content_and_merge_metadata(memory: AsyncMemory) -> None:
    added = (await memory.add("Carol lives in Rome", user_id="carol", metadata={"a": 1, "b": 2}, infer=False))["results"][0]
    updated = await memory.update(added["id"], content="Carol lives in Milan", user_id="carol", metadata={"b": None, "c": 3})
    assert updated is not None
    assert_record(updated, memory="Carol lives in Milan", user_id="carol")
    assert updated["metadata"] == {"a": 1, "c": 3, "role": "user"}
    assert updated["created_at"] == added["created_at"]
    assert updated["updated_at"] >= added["updated_at"]
    hits = await memory.search("Milan", user_id="carol")
    assert hits["results"][0]["id"] == added["id"]


async def test_update_metadata_only_keeps_text(memory: AsyncMemory) -> None:
    added = (await memory.add("Dave runs marathons", user_id="dave", infer=False))["results"][0]
    updated = await memory.update(added["id"], metadata={"level": "pro"}, user_id="dave")
    assert updated is not None and updated["memory"] == "Dave runs marathons"
    assert updated["metadata"]["level"] == "pro"


async def test_delete_and_history(memory: AsyncMemory) -> None:
    added = (await memory.add("Erin drinks coffee", user_id="erin", infer=False))["results"][0]
    await memory.update(added["id"], content="Erin drinks tea", user_id="erin")
    assert await memory.delete(added["id"], user_id="erin") is True
    assert await memory.get(added["id"]) is None
    assert await memory.delete(added["id"], user_id="erin") is False
    events = await memory.history(added["id"], user_id="erin")
    assert [e["event"] for e in events] == ["ADD", "UPDATE", "DELETE"]
    assert set(events[0]) == {"id", "memory_id", "event", "old_memory", "new_memory", "created_at"}
    assert (events[0]["old_memory"], events[0]["new_memory"]) == (None, "Erin drinks coffee")
    assert (events[1]["old_memory"], events[1]["new_memory"]) == ("Erin drinks coffee", "Erin drinks tea")
    assert (events[2]["old_memory"], events[2]["new_memory"]) == ("Erin drinks tea", None)
    assert all(e["memory_id"] == added["id"] for e in events)


async def test_delete_all_is_scoped_and_refuses_without_scope(memory: AsyncMemory) -> None:
    await memory.add("one", user_id="x", infer=False)
    await memory.add("two", user_id="x", run_id="r", infer=False)
    await memory.add("three", user_id="y", infer=False)
    with pytest.raises(ValueError, match="user_id, agent_id or run_id"):
        await memory.delete_all()
    assert (await memory.get_all(user_id="x"))["total"] == 2
    assert await memory.delete_all(user_id="x", run_id="r") == {"deleted": 1}
    assert await memory.delete_all(user_id="x") == {"deleted": 1}
    assert (await memory.get_all(user_id="y"))["total"] == 1


async def test_delete_all_with_all_true_wipes_every_tenant(memory: AsyncMemory) -> None:
    await memory.add("one", user_id="x", infer=False)
    await memory.add("two", user_id="y", infer=False)
    assert await memory.delete_all(all=True) == {"deleted": 2}
    assert (await memory.get_all())["total"] == 0


async def test_reset_wipes_the_store(memory: AsyncMemory) -> None:
    added = (await memory.add("temporary", user_id="z", infer=False))["results"][0]
    await memory.reset()
    assert await memory.get(added["id"]) is None
    assert await memory.history(added["id"]) == []


async def test_search_shape_and_blank_query(memory: AsyncMemory) -> None:
    await memory.add("Frank collects vintage guitars", user_id="frank", infer=False)
    await memory.add("Frank's sister is a pilot", user_id="frank", infer=False)
    result = await memory.search("vintage guitars", user_id="frank", limit=5)
    assert set(result) == {"results", "relations"}
    top = result["results"][0]
    assert_record(top, memory="Frank collects vintage guitars")
    assert 0 <= top["score"] <= 1 and isinstance(top["scores"], dict)
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)
    assert await memory.search("   ", user_id="frank") == {"results": [], "relations": []}


async def test_search_limit_and_threshold(memory: AsyncMemory) -> None:
    for i in range(8):
        await memory.add(f"fact {i} about gardening tomatoes", user_id="gina", infer=False)
    assert len((await memory.search("gardening", user_id="gina", limit=3))["results"]) == 3
    everything = (await memory.search("gardening", user_id="gina", limit=8))["results"]
    cut = everything[3]["score"]
    above = (await memory.search("gardening", user_id="gina", limit=8, threshold=cut))["results"]
    assert above and all(r["score"] >= cut for r in above)
    assert len(above) < len(everything) or cut == everything[-1]["score"]
    assert (await memory.search("gardening", user_id="gina", threshold=1.0))["results"] == [] or all(
        r["score"] == 1.0 for r in (await memory.search("gardening", user_id="gina", threshold=1.0))["results"]
    )


async def test_data_survives_close_and_reopen(memory_config: dict) -> None:
    async with AsyncMemory(memory_config) as first:
        await first.reset()
        added = (await first.add("Henry speaks Portuguese", user_id="henry", infer=False))["results"][0]
    async with AsyncMemory(memory_config) as second:
        again = await second.get(added["id"], user_id="henry")
        assert again is not None and again["memory"] == "Henry speaks Portuguese"
        hits = await second.search("Portuguese", user_id="henry")
        assert hits["results"][0]["id"] == added["id"]
        assert [e["event"] for e in await second.history(added["id"])] == ["ADD"]


async def test_initialize_twice_and_lazy_initialization(memory_config: dict) -> None:
    m = AsyncMemory(memory_config)
    try:
        added = await m.add("lazy start", user_id="lazy", infer=False)  # no initialize(): done on first use
        await m.initialize()
        await m.initialize()
        assert await m.get(added["results"][0]["id"]) is not None
    finally:
        await m.close()
