"""Concurrent inferred adds and the graph (issue 12), on both stores.

100 gathered ``add(infer=True)`` over two agents of one user, each stating two relations
among four shared names (so many adds write the same triple at once, and create the same
entities at once). Afterwards, read below the API: no two entities share (tenant, name_key);
every relation the scripted LLM returned is in its agent's graph exactly once as a valid
relation, asserted by exactly the memories of the adds that stated it; nothing else.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

from powermem import AsyncMemory
from tests.reliability.helpers import Tally
from tests.support import graph_scan
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

ADDS = 100
USER = "crowd"
AGENTS = ("bot-a", "bot-b")
PEOPLE = ("Dana", "Eli", "Fay", "Gus")
PAIRS = list(itertools.permutations(PEOPLE, 2))

Triple = tuple[str, str, str]


def statement(n: int) -> tuple[str, list[Triple], dict[str, Any]]:
    """Add n's one fact, its two relations (whatever the fact names, the add's one memory
    asserts both) and the extraction the LLM returns."""
    met = PAIRS[n % len(PAIRS)]
    knows = PAIRS[(n * 7 + 3) % len(PAIRS)]
    fact = f"{met[0]} met {met[1]} on day {n}"
    relations = [(met[0], "MET", met[1]), (knows[0], "KNOWS", knows[1])]
    extraction = {"facts": [fact], "entities": [{"name": p, "type": "person"} for p in PEOPLE],
                  "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in relations]}
    return fact, relations, extraction


def inferring_config(memory_config: dict[str, Any], server: ScriptedOpenAIServer) -> dict[str, Any]:
    llm = {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
           "timeout": 10.0, "max_attempts": 3, "retry_initial_wait": 0.01}
    return {**memory_config, "llm": llm}


async def test_gathered_inferred_adds_lose_no_relation_and_duplicate_no_entity(
    memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer, tally: Tally
) -> None:
    statements = [statement(n) for n in range(ADDS)]
    openai_server.respond_with(ScriptedLLM({f"[note {n}]": s[2] for n, s in enumerate(statements)}))
    async with AsyncMemory(inferring_config(memory_config, openai_server)) as m:
        await m.reset()

        async def one(n: int) -> dict[str, Any]:
            return await m.add(f"[note {n}] diary", user_id=USER, agent_id=AGENTS[n % 2])

        results = await asyncio.gather(*(one(n) for n in range(ADDS)))
        tally.add("cases", f"{store_kind}/concurrent-infer-graph", ADDS)

        expected: dict[tuple[str, Triple], set[int]] = defaultdict(set)
        for n, (result, (fact, relations, _)) in enumerate(zip(results, statements, strict=True)):
            [record] = result["results"]
            assert (record["event"], record["memory"]) == ("ADD", fact)
            reported = sorted((r["source"], r["relationship"], r["destination"])
                              for r in result["relations"]["added_entities"])
            assert reported == sorted(relations), f"add {n} reported {reported}"
            for triple in relations:
                expected[(f"{USER}\x1f{AGENTS[n % 2]}", triple)].add(record["id"])

        snapshot = graph_scan.dump(memory_config)
        assert graph_scan.integrity(snapshot) == []  # incl. no duplicate (tenant, name_key)
        entities = sorted((e.tenant, e.name_key) for e in snapshot.entities)
        assert entities == sorted((f"{USER}\x1f{a}", p.lower()) for a in AGENTS for p in PEOPLE)
        stored = {(r.tenant, r.triple): set(r.memory_ids) for r in snapshot.relations if r.valid}
        assert len(stored) == len(snapshot.relations), "a relation was invalidated or duplicated"
        lost = {k: v for k, v in expected.items() if stored.get(k) != v}
        assert not lost, f"relations lost or missing provenance: {sorted(lost.items())[:5]}"
        assert set(stored) == set(expected)
        for agent in AGENTS:
            listed = await m.get_all(user_id=USER, agent_id=agent)
            got = sorted((r["source"], r["relationship"], r["destination"]) for r in listed["relations"])
            assert got == sorted(t for (tenant, t) in expected if tenant == f"{USER}\x1f{agent}")
