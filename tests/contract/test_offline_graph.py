"""The graph without an LLM, on both stores: offline relations stored as relations of their
memory (provenance, origin, tenancy, deletion), and multi-hop recall over them."""

from __future__ import annotations

from typing import Any

from powermem import AsyncMemory
from powermem.cli.demo import load_conversation
from powermem.stores.base import RelationRow, Scope
from tests.support import graph_scan

PORTO = "Daniel Okafor lives in Porto and commutes to Lisbon twice a week."


async def relations_of(memory: AsyncMemory, scope: Scope) -> list[RelationRow]:
    store, _, _ = await memory._ready()
    return await store.relations(scope, True, 100)


def triples(rows: list[RelationRow]) -> set[tuple[str, str, str]]:
    return {(r.source, r.relationship, r.destination) for r in rows}


async def test_offline_relations_are_stored_with_their_memory_and_origin(memory: AsyncMemory) -> None:
    added = await memory.add([{"role": "user", "content": "Hi, I'm Maya. My manager is Daniel Okafor."},
                              {"role": "user", "content": "Daniel Okafor lives in Porto."}], user_id="maya",
                             infer=False)
    ids = {r["memory"]: r["id"] for r in added["results"]}
    assert added["relations"] == {"deleted_entities": [], "added_entities": [
        {"source": "Maya", "relationship": "HAS_MANAGER", "destination": "Daniel Okafor"},
        {"source": "Daniel Okafor", "relationship": "LIVES_IN", "destination": "Porto"}]}
    rows = {(r.source, r.relationship, r.destination): r for r in await relations_of(memory, Scope(user_id="maya"))}
    assert set(rows) == {("Maya", "HAS_MANAGER", "Daniel Okafor"), ("Daniel Okafor", "LIVES_IN", "Porto")}
    assert rows[("Maya", "HAS_MANAGER", "Daniel Okafor")].memory_ids == (ids["Hi, I'm Maya. My manager is Daniel Okafor."],)
    assert rows[("Daniel Okafor", "LIVES_IN", "Porto")].memory_ids == (ids["Daniel Okafor lives in Porto."],)
    assert {r.origin for r in rows.values()} == {"offline"}
    listed = await memory.get_all(user_id="maya")
    assert {(r["source"], r["relationship"], r["destination"]) for r in listed["relations"]} == set(rows)


async def test_offline_relations_keep_to_their_tenant(memory: AsyncMemory) -> None:
    await memory.add("Alice works at Acme.", user_id="alice", infer=False)
    await memory.add("Alice works at Initech.", user_id="bob", infer=False)
    assert triples(await relations_of(memory, Scope(user_id="alice"))) == {("Alice", "WORKS_AT", "Acme")}
    assert triples(await relations_of(memory, Scope(user_id="bob"))) == {("Alice", "WORKS_AT", "Initech")}
    found = await memory.search("Where does Alice work?", user_id="alice")
    assert [r["memory"] for r in found["results"]] == ["Alice works at Acme."]
    assert {(r["source"], r["destination"]) for r in found["relations"]} == {("Alice", "Acme")}


async def test_offline_relations_go_with_the_last_memory_that_states_them(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    first = await memory.add("Ana lives in Porto.", user_id="ana", infer=False)
    second = await memory.add("Ana lives in Porto, by the river.", user_id="ana", infer=False)
    await memory.add("Rui works at Acme.", user_id="ana", infer=False)
    rows = [r for r in await relations_of(memory, Scope(user_id="ana")) if r.relationship == "LIVES_IN"]
    assert len(rows) == 1 and set(rows[0].memory_ids) == {first["results"][0]["id"], second["results"][0]["id"]}
    assert await memory.delete(first["results"][0]["id"], user_id="ana")
    assert ("Ana", "LIVES_IN", "Porto") in triples(await relations_of(memory, Scope(user_id="ana")))
    assert await memory.delete(second["results"][0]["id"], user_id="ana")
    assert triples(await relations_of(memory, Scope(user_id="ana"))) == {("Rui", "WORKS_AT", "Acme")}
    await memory.delete_all(user_id="ana")
    assert await relations_of(memory, Scope(user_id="ana")) == []
    assert graph_scan.integrity(graph_scan.dump(memory_config)) == []


async def test_an_update_states_the_new_texts_relations(memory: AsyncMemory) -> None:
    added = await memory.add("Ana likes tea.", user_id="ana", infer=False)
    memory_id = added["results"][0]["id"]
    assert await relations_of(memory, Scope(user_id="ana")) == []
    await memory.update(memory_id, "Ana moved to Lisbon.", user_id="ana")
    rows = await relations_of(memory, Scope(user_id="ana"))
    assert triples(rows) == {("Ana", "MOVED_TO", "Lisbon")} and rows[0].memory_ids == (memory_id,)


async def test_first_person_facts_need_a_speaker(memory: AsyncMemory) -> None:
    await memory.add("My manager is Daniel Okafor.", user_id="u", infer=False)
    assert await relations_of(memory, Scope(user_id="u")) == []
    await memory.add([{"role": "user", "name": "Maya", "content": "My manager is Daniel Okafor."}],
                     user_id="u", infer=False)
    await memory.add("Caroline: I moved to Sweden.", user_id="u", infer=False)
    assert triples(await relations_of(memory, Scope(user_id="u"))) == {
        ("Maya", "HAS_MANAGER", "Daniel Okafor"), ("Caroline", "MOVED_TO", "Sweden")}


async def demo_memory(memory: AsyncMemory) -> str:
    conversation = load_conversation()
    user = conversation["user_id"]
    for session in conversation["sessions"]:
        await memory.add(session["messages"], user_id=user, run_id=session["run_id"], infer=False)
    return str(user)


async def demo_question_answered_first(memory: AsyncMemory) -> str:
    """Stores the demo conversation and checks its question's answer ranks first, found through
    both relations; returns the demo's user."""
    user = await demo_memory(memory)
    found = await memory.search("Where does Maya's manager live?", user_id=user, limit=3)
    assert found["results"][0]["memory"] == PORTO
    facts = {(r["source"], r["relationship"], r["destination"]) for r in found["relations"]}
    assert {("Maya", "HAS_MANAGER", "Daniel Okafor"), ("Daniel Okafor", "LIVES_IN", "Porto")} <= facts
    return user


async def test_the_demo_question_is_answered_first_through_two_relations(memory: AsyncMemory) -> None:
    user = await demo_question_answered_first(memory)
    # Asked directly, the manager is the memory that states the relation.
    found = await memory.search("Who is Maya's manager?", user_id=user, limit=3)
    assert "My manager is Daniel Okafor" in found["results"][0]["memory"]


async def test_without_the_graph_the_demo_question_is_not_answered_first(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    user = await demo_memory(memory)
    config = {**memory_config, "search": {"graph": False}}
    async with AsyncMemory(config) as plain:
        found = await plain.search("Where does Maya's manager live?", user_id=user, limit=3)
    assert found["results"][0]["memory"] != PORTO


async def test_offline_relations_can_be_turned_off(memory: AsyncMemory, memory_config: dict[str, Any]) -> None:
    config = {**memory_config, "ingest": {**memory_config.get("ingest", {}), "offline_relations": False}}
    async with AsyncMemory(config) as entities_only:
        added = await entities_only.add("Alice works at Acme.", user_id="alice", infer=False)
        assert await relations_of(entities_only, Scope(user_id="alice")) == []
        store, _, _ = await entities_only._ready()
        named = await store.entities_by_key(Scope(user_id="alice"), ["alice", "acme"])
    assert {e.name for e in named} == {"Alice", "Acme"} and added["usage"]["extract_ms"] > 0
