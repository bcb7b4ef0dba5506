"""``_admin.entity_neighbourhood`` (the MCP tool ``related_entities``) on both stores.

A scripted LLM writes a small graph: alice LIVES_IN Berlin, WORKS_AT Acme, KNOWS bob; Acme
BASED_IN Berlin; bob PLAYS jazz.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from powermem import AsyncMemory, InvalidInputError
from powermem._admin import entity_neighbourhood
from powermem.stores.base import Scope
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

Triple = tuple[str, str, str]


def said(facts: list[str], entities: list[str], relations: list[Triple]) -> dict[str, Any]:
    return {"facts": facts, "entities": [{"name": n, "type": "thing"} for n in entities],
            "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in relations]}


SCRIPT = ScriptedLLM(extractions={
    "Berlin": said(["alice lives in Berlin", "alice works at Acme", "alice knows bob"], ["alice", "Berlin", "Acme", "bob"],
                   [("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme"), ("alice", "KNOWS", "bob")]),
    "jazz": said(["bob plays jazz", "Acme is based in Berlin"], ["bob", "jazz", "Acme", "Berlin"],
                 [("bob", "PLAYS", "jazz"), ("Acme", "BASED_IN", "Berlin")]),
})


@pytest.fixture
async def m(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> AsyncIterator[AsyncMemory]:
    openai_server.respond_with(SCRIPT)
    llm = {"provider": "openai", "base_url": openai_server.base_url, "api_key": "test", "model": "scripted"}
    # A lower link threshold: 64 hashed dimensions put "Alice Smith" at 0.71 of "alice".
    config = {**memory_config, "llm": llm, "search": {"entity_link_similarity": 0.6}}
    async with AsyncMemory(config) as memory:
        yield memory


@pytest.fixture
def user() -> str:
    return f"n-{uuid.uuid4().hex[:8]}"


def triples(found: Any) -> set[Triple]:
    return {(r.source, r.relationship, r.destination) for r in found.relations}


async def test_relations_neighbours_and_mentioning_memories(m: AsyncMemory, user: str) -> None:
    first = await m.add("I live in Berlin and work at Acme, like my friend Bob", user_id=user)
    await m.add("Bob plays jazz; Acme has its office downtown", user_id=user)
    found = await entity_neighbourhood(m, Scope(user), "Alice")
    assert found.matched_by == "name" and [e.name for e in found.entities] == ["alice"]
    assert triples(found) == {("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme"), ("alice", "KNOWS", "bob")}
    assert {e.name for e in found.neighbours} == {"Berlin", "Acme", "bob"}
    assert {row.id for row in found.memories} <= {r["id"] for r in first["results"]} and found.memories
    ids = [row.id for row in found.memories]
    assert ids == sorted(ids, reverse=True)  # newest first
    wider = await entity_neighbourhood(m, Scope(user), "alice", hops=2)
    assert {("bob", "PLAYS", "jazz"), ("Acme", "BASED_IN", "Berlin")} <= triples(wider)


async def test_a_close_name_matches_by_similarity(m: AsyncMemory, user: str) -> None:
    await m.add("I live in Berlin and work at Acme, like my friend Bob", user_id=user)
    found = await entity_neighbourhood(m, Scope(user), "Alice Smith")
    assert found.matched_by == "similarity" and "alice" in [e.name for e in found.entities]


async def test_limit_and_unknown_names(m: AsyncMemory, user: str) -> None:
    for i in range(3):
        await m.add(f"Meeting {i} with Zed about the roadmap", user_id=user, infer=False)
    found = await entity_neighbourhood(m, Scope(user), "zed", limit=2)
    assert len(found.memories) == 2
    nothing = await entity_neighbourhood(m, Scope(user), "Quetzalcoatl")
    assert (nothing.entities, nothing.relations, nothing.memories, nothing.matched_by) == ([], [], [], "none")


async def test_another_tenant_sees_nothing(m: AsyncMemory, user: str) -> None:
    await m.add("I live in Berlin and work at Acme, like my friend Bob", user_id=user)
    other = await entity_neighbourhood(m, Scope(f"{user}-other"), "alice")
    assert other.entities == [] and other.memories == []
    agent = await entity_neighbourhood(m, Scope(user, agent_id="bot"), "alice")  # another graph tenant
    assert agent.entities == []


@pytest.mark.parametrize(("scope", "name", "options", "says"), [
    (Scope(), "alice", {}, "user_id, agent_id or run_id"),
    (Scope("u"), "  ?! ", {}, "letter or a digit"),
    (Scope("u"), "x" * 70_000, {}, "64 KiB"),
    (Scope("u"), "alice", {"hops": 0}, "hops"),
    (Scope("u"), "alice", {"limit": 0}, "limit"),
])
async def test_bad_input(m: AsyncMemory, scope: Scope, name: str, options: dict[str, int], says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        await entity_neighbourhood(m, scope, name, **options)
