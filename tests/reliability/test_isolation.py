"""Tenant isolation on both stores: tenant B never reads, changes or reaches tenant A's data.

Both tenants talk about the same entities (Alice, Acme) through the scripted-LLM infer
pipeline, so their graphs have entities with the same names and a relation with the same
type; A also holds a relation and facts B never stated. For every method B's view is
checked against what B wrote, A's ids used by B behave as missing, the LLM prompts of B's
adds never show A's memories, the store's own reads (vector, full-text, entity lookup,
graph expansion seeded with A's entities, neighbours) return nothing of A's, and A's
snapshot is unchanged at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from powermem import AsyncMemory, InvalidInputError
from powermem.stores.base import Scope
from tests.reliability.fuzzing import llm_section
from tests.reliability.helpers import Tally, snapshot
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM


def extraction(facts: list[str], entities: list[str], relations: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "facts": facts,
        "entities": [{"name": n, "type": "thing"} for n in entities],
        "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in relations],
    }


A_SECRET = "Alice keeps her savings in the Zurich vault"
A_ONLY_RELATION = ("Alice", "LIVES_IN", "Berlin")
SHARED_RELATION = ("Alice", "WORKS_AT", "Acme")
B_ONLY_RELATION = ("Alice", "LIKES", "jazz")
LLM = ScriptedLLM(
    extractions={
        "conversation of A": extraction(
            ["Alice works at Acme", "Alice lives in Berlin", A_SECRET],
            ["Alice", "Acme", "Berlin", "Zurich"],
            [SHARED_RELATION, A_ONLY_RELATION, ("Alice", "BANKS_IN", "Zurich")],
        ),
        "conversation of B": extraction(["Alice works at Acme", "Alice likes jazz"], ["Alice", "Acme", "jazz"],
                                        [SHARED_RELATION, B_ONLY_RELATION]),
        "more of B": extraction(["Alice works at Acme as an engineer"], ["Alice", "Acme"], [SHARED_RELATION]),
    }
)

# (tenant A's scope, tenant B's scope): B's scope names every field that tells them apart.
PAIRS = {
    "different-users": ({"user_id": "tenant-a"}, {"user_id": "tenant-b"}),
    "same-user-different-agents": ({"user_id": "shared", "agent_id": "agent-a"},
                                   {"user_id": "shared", "agent_id": "agent-b"}),
    "same-agent-different-users": ({"user_id": "ua", "agent_id": "bot"}, {"user_id": "ub", "agent_id": "bot"}),
    "same-run-different-users": ({"user_id": "ra", "run_id": "run-1"}, {"user_id": "rb", "run_id": "run-1"}),
    "ids-that-concatenate-alike": ({"user_id": "ab", "agent_id": "c"}, {"user_id": "a", "agent_id": "bc"}),
    "agent-only-tenants": ({"agent_id": "solo-a"}, {"agent_id": "solo-b"}),
    "hostile-ids": ({"user_id": "x' OR '1'='1"}, {"user_id": "x\" OR \"1\"=\"1"}),
}


def texts(result: dict[str, Any]) -> set[str]:
    return {r["memory"] for r in result["results"]}


def triples(relations: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["source"], r["relationship"], r["destination"]) for r in relations}


def owner_kwargs(scope: dict[str, Any]) -> dict[str, Any]:
    """get/update/delete/history take user_id and agent_id only."""
    return {k: v for k, v in scope.items() if k in ("user_id", "agent_id")}


@pytest.mark.parametrize("pair", list(PAIRS), ids=list(PAIRS))
async def test_tenant_b_never_reaches_tenant_a(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
                                               store_kind: str, tally: Tally, pair: str) -> None:
    a, b = PAIRS[pair]
    openai_server.respond_with(ScriptedLLM(LLM.extractions))
    async with AsyncMemory({**memory_config, "llm": llm_section(openai_server)}) as m:
        await m.reset()
        store, _, _ = await m._ready()
        a_added = await m.add("conversation of A", **a, metadata={"owner": "A"})
        a_raw = await m.add("Alice told A about the Zurich vault code", **a, infer=False, metadata={"owner": "A"})
        a_ids = [r["id"] for r in a_added["results"] + a_raw["results"]]
        assert len(a_ids) == 4
        before = await snapshot(m, **a)
        assert A_ONLY_RELATION in set(before["relations"])

        openai_server.reset()
        openai_server.respond_with(ScriptedLLM(LLM.extractions))
        b_first = await m.add("conversation of B", **b, metadata={"owner": "B"})
        b_second = await m.add("more of B", **b, metadata={"owner": "B"})
        b_raw = await m.add("Alice plays jazz at Acme", **b, infer=False, metadata={"owner": "B"})
        b_ids = {r["id"] for r in b_first["results"] + b_second["results"] + b_raw["results"]}
        # B's adds never showed B's LLM anything of A's (reconciliation sees B's memories only).
        prompts = "\n".join(str(msg.get("content")) for r in openai_server.chat_requests for msg in r.messages
                            if msg.get("role") == "user")
        assert "Berlin" not in prompts and "Zurich" not in prompts and "LIVES_IN" not in prompts
        assert any("Existing memories" in r.text for r in openai_server.chat_requests)

        leaks: list[str] = []

        def no_leak(what: str, seen: object) -> None:
            tally.add("cases", f"{store_kind}/isolation-probe")
            if seen:
                leaks.append(f"{what}: {seen!r:.300}")

        # search, get_all: only B's memories and relations, whatever the query names.
        for query in ["Alice", "Berlin", "Zurich vault", "Alice lives in Berlin", A_SECRET, "Acme", "savings"]:
            found = await m.search(query, **b, limit=100)
            no_leak(f"search {query!r} results", {r["id"] for r in found["results"]} - b_ids)
            no_leak(f"search {query!r} relations", {A_ONLY_RELATION, ("Alice", "BANKS_IN", "Zurich")}
                    & triples(found["relations"]))
            for record in found["results"]:
                no_leak("search result owner", record["metadata"].get("owner") != "B")
            filtered = await m.search(query, **b, filters={"owner": "A"})
            no_leak(f"search {query!r} with A's filter", filtered["results"])
        # Graph expansion is at work: B's own relations connect B's results.
        assert triples((await m.search("Alice jazz", **b))["relations"]) & {SHARED_RELATION, B_ONLY_RELATION}
        listed = await m.get_all(**b, limit=1000)
        no_leak("get_all ids", {r["id"] for r in listed["results"]} ^ b_ids)
        no_leak("get_all relations", triples(listed["relations"]) - {SHARED_RELATION, B_ONLY_RELATION})
        no_leak("get_all with A's filter", (await m.get_all(**b, filters={"owner": "A"}))["results"])

        # get, update, delete, history with A's ids behave as missing.
        for memory_id in a_ids:
            for as_text in (memory_id, str(memory_id)):
                no_leak("get", await m.get(as_text, **owner_kwargs(b)))
                no_leak("history", await m.history(as_text, **owner_kwargs(b)))
                no_leak("update", await m.update(as_text, content="hijacked", **owner_kwargs(b)))
                no_leak("update metadata", await m.update(as_text, metadata={"owner": "B"}, **owner_kwargs(b)))
                no_leak("delete", await m.delete(as_text, **owner_kwargs(b)))

        # The store's own reads, given A's ids and A's entities, return nothing of A's.
        b_scope, a_scope = Scope(**b), Scope(**a)
        keys = ["alice", "acme", "berlin", "zurich", "jazz"]
        a_entities = await store.entities_by_key(a_scope, keys)
        b_entities = await store.entities_by_key(b_scope, keys)
        assert {e.name_key for e in a_entities} == {"alice", "acme", "berlin", "zurich"}
        assert {e.name_key for e in b_entities} == {"alice", "acme", "jazz"}
        a_entity_ids = {e.id for e in a_entities}
        no_leak("entities shared by both tenants", a_entity_ids & {e.id for e in b_entities})
        no_leak("get_many", await store.get_many(a_ids, b_scope, None))
        graph = await store.expand(b_scope, sorted(a_entity_ids), a_ids, 3, 500)
        no_leak("expand entities", set(graph.entities) & a_entity_ids)
        no_leak("expand relations", [r for r in graph.relations
                                     if {r.source_id, r.destination_id} & a_entity_ids])
        no_leak("expand mentions", [p for p in graph.mentions if p[0] in a_ids or p[1] in a_entity_ids])
        b_seed_graph = await store.expand(b_scope, [e.id for e in b_entities], sorted(b_ids), 3, 500)
        no_leak("expand from B's seeds", (set(b_seed_graph.entities) & a_entity_ids)
                | {p[0] for p in b_seed_graph.mentions if p[0] in a_ids})
        no_leak("adjacent", await store.adjacent(b_scope, a_ids, 3))
        no_leak("adjacent of B's", [p for p in await store.adjacent(b_scope, sorted(b_ids), 5) if p[1] in a_ids])
        no_leak("relations", [r for r in await store.relations(b_scope, True, 1000)
                              if {r.source_id, r.destination_id} & a_entity_ids])
        embedder = (await m._ready())[1]._embedder
        for text in ["Alice lives in Berlin", A_SECRET]:
            vector = (await embedder.embed([text]))[0]
            no_leak("vector_search", {h.id for h in await store.vector_search(b_scope, None, vector, 100)} - b_ids)
            no_leak("similar_entities", {e.id for e, _ in await store.similar_entities(b_scope, vector, 50, -1.0)}
                    & a_entity_ids)
        no_leak("fulltext_search", {h.id for h in await store.fulltext_search(
            b_scope, None, ["alice", "berlin", "zurich", "vault", "savings"], 100)} - b_ids)
        tally.add("leaked", f"{store_kind}/isolation", len(leaks))
        np.testing.assert_equal(len(leaks), 0, err_msg="\n".join(leaks))

        # B wipes its own scope: only its own memories go, A is exactly as it was.
        deleted = await m.delete_all(**b)
        assert deleted == {"deleted": len(b_ids)}
        assert await snapshot(m, **a) == before


async def test_ids_holding_the_tenant_separator_are_refused(memory: AsyncMemory) -> None:
    """"a\\x1fb" as a user and ("a", "b") as user and agent would share one tenant key."""
    with pytest.raises(InvalidInputError, match="U\\+001F"):
        await memory.add("x", user_id="a\x1fb", infer=False)
    with pytest.raises(InvalidInputError, match="U\\+001F"):
        await memory.get_all(user_id="a", agent_id="b\x1f")
    assert (await memory.get_all(limit=10))["total"] == 0
