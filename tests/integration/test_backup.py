"""Full export and import between the two kinds of store (issue 19): nothing is lost either way.

A store is filled through the LLM pipeline against the scripted OpenAI server (memories,
entities, relations, one of them invalidated, history with an update and a delete, several
tenants), exported with ``powermem.backup.export_full``, imported into an empty store of the
other kind, and compared: below the API (every row of graph_scan's store scan, ids included),
through the API (memories, histories, stats, relations with invalidated ones), and as an
export of the copy, which must equal the original export line for line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.backup import BackupFileError, RestoreOptions, export_full, import_full
from powermem.stores.base import Scope
from tests.reliability.helpers import store_snapshot
from tests.support import graph_scan
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM, fact

SCRIPT = ScriptedLLM(
    extractions={
        "I live in Berlin": fact(
            ["alice lives in Berlin", "alice works at Acme", "alice loves jazz"],
            [("alice", "person"), ("Berlin", "place"), ("Acme", "organization"), ("jazz", "music")],
            [("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme"), ("alice", "LIKES", "jazz")],
        ),
        "moved from Berlin to Paris": {  # with a type family, which a backup keeps
            **fact(["alice lives in Paris"], [("alice", "person"), ("Paris", "place")], []),
            "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Paris", "family": "residence"}],
        },
        "stopped listening to jazz": fact(["alice no longer loves jazz"], [("alice", "person"), ("jazz", "music")], []),
        "Bob met Carol": fact(["Bob met Carol at Initech"], [("Bob", "person"), ("Carol", "person"),
                                                              ("Initech", "organization")],
                              [("Bob", "MET", "Carol"), ("Bob", "WORKS_AT", "Initech")]),
    },
    rules=[
        Rule("lives in Paris", "UPDATE", target="lives in Berlin", text="alice lives in Paris", contradicts="LIVES_IN"),
        Rule("no longer loves jazz", "DELETE", target="loves jazz"),
    ],
)


def config(store: dict[str, Any], server: ScriptedOpenAIServer | None = None, dims: int = 64) -> dict[str, Any]:
    llm = ({"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
            "timeout": 5.0, "max_attempts": 2, "retry_initial_wait": 0.01} if server else {"provider": "none"})
    return {"store": store, "embedding": {"provider": "hashing", "dims": dims}, "llm": llm,
            "ingest": {"reconcile_min_similarity": 0.5}}


def stores(tmp_path: Path, neo4j_store_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"embedded": {"provider": "embedded", "path": str(tmp_path / "source.db")},
            "neo4j": {"provider": "neo4j", **neo4j_store_config}}


async def fill(m: AsyncMemory) -> None:
    """Memories, entities and relations of three tenants; an update, an invalidation, a delete."""
    await m.add("I live in Berlin, work at Acme and I love jazz", user_id="alice", metadata={"source": "chat", "n": 1})
    await m.add("I moved from Berlin to Paris", user_id="alice")
    await m.add("I stopped listening to jazz", user_id="alice")
    await m.add("Bob met Carol at Initech", user_id="bob", agent_id="crm", run_id="call-7")
    await m.add("Dana and Eli planned the Lisbon trip", run_id="trip", infer=False, metadata={"tags": ["a", "b"]})


async def scan(m: AsyncMemory) -> dict[str, Any]:
    """The whole store below the API and through it, ids included, embeddings left out."""
    dump = graph_scan.dump({"store": _store_dict(m)}, rows=False)
    relations = []
    for tenant in {r.tenant for r in dump.relations}:
        scope = _scope_of_tenant(tenant)
        store, _, _ = await m._ready()
        relations += [(tenant, r.id, r.source, r.relationship, r.destination, r.fact, r.memory_ids, r.valid_at,
                       r.invalid_at) for r in await store.relations(scope, include_invalid=True, limit=1000)]
    return {
        "api": await store_snapshot(m),
        "memories": dump.memories,
        "history": dump.history,
        "relations": sorted(dump.relation_set().items()),
        "relation_rows": sorted(relations),
        "entities": sorted((e.id, e.tenant, e.name_key, e.linked) for e in dump.entities),
        "problems": graph_scan.integrity(dump),
    }


def _store_dict(m: AsyncMemory) -> dict[str, Any]:
    store = m.config.store
    if store.provider == "embedded":
        return {"provider": "embedded", "path": store.path}
    return {"provider": "neo4j", "uri": store.uri, "username": store.username, "database": store.database,
            "password": store.password.get_secret_value() if store.password else ""}


def _scope_of_tenant(tenant: str) -> Scope:
    from powermem.stores.dump import graph_scope

    return graph_scope(tenant)


async def exported(m: AsyncMemory) -> list[str]:
    out = io.StringIO()
    await export_full(m, out)
    lines = out.getvalue().splitlines()
    return lines[1:]  # the header names the store kind and the time


@pytest.mark.neo4j
@pytest.mark.parametrize(("source", "target"), [("embedded", "neo4j"), ("neo4j", "embedded")])
async def test_full_export_round_trips_between_store_kinds(
    tmp_path: Path, neo4j_store_config: dict[str, Any], openai_server: ScriptedOpenAIServer, source: str, target: str
) -> None:
    kinds = stores(tmp_path, neo4j_store_config)
    kinds["embedded"]["path"] = str(tmp_path / f"{source}-{target}.db")
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions, SCRIPT.rules))
    path = tmp_path / "backup.jsonl"
    async with AsyncMemory(config(kinds[source], openai_server)) as m:
        await m.reset()
        await fill(m)
        before = await scan(m)
        lines = await exported(m)
        with path.open("w", encoding="utf-8") as handle:
            await export_full(m, handle)
        if source == "neo4j":
            await m.reset()  # the target below is the other kind; the shared database is left empty
    # What the source holds is what the test means it to: every kind of thing a backup carries.
    assert before["problems"] == []
    assert any(r[-1] is not None for r in before["relation_rows"]), "an invalidated relation"
    events = [e for h in before["history"].values() for e, _, _ in h]
    assert {"ADD", "UPDATE", "DELETE"} <= set(events)
    assert len({(u, a, r) for u, a, r in before["memories"].values()}) == 3
    assert len(before["entities"]) >= 8

    async with AsyncMemory(config(kinds[target])) as copy:
        await copy.reset()
        report = await import_full(copy, path, RestoreOptions(batch_size=3))
        assert report.reembedded is False
        assert report.counts == {"entities": len(before["entities"]), "memories": len(before["memories"]),
                                 "relations": len(before["relation_rows"]), "events": len(events)}
        after = await scan(copy)
        assert after == before
        assert await exported(copy) == lines
        assert sum('"family": "residence"' in line for line in lines) == 1
        # The copy works: search finds a restored memory through the vectors and the graph.
        found = await copy.search("where does alice live", user_id="alice")
        assert "alice lives in Paris" in [r["memory"] for r in found["results"]]
        tagged = await copy.get_all(user_id="alice", filters={"source": "chat"})  # metadata filters work
        assert sorted(r["memory"] for r in tagged["results"]) == ["alice lives in Paris", "alice works at Acme"]
        # Again, into the now full store: refused unless resumed, and a resumed run changes nothing.
        with pytest.raises(ValueError, match="not empty"):
            await import_full(copy, path)
        await import_full(copy, path, RestoreOptions(resume=True))
        assert await scan(copy) == before
        if target == "neo4j":
            await copy.reset()


async def test_a_damaged_file_writes_nothing(tmp_path: Path, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions, SCRIPT.rules))
    path = tmp_path / "backup.jsonl"
    async with AsyncMemory(config({"provider": "embedded", "path": str(tmp_path / "a.db")}, openai_server)) as m:
        await fill(m)
        with path.open("w", encoding="utf-8") as handle:
            await export_full(m, handle)
    lines = path.read_text(encoding="utf-8").splitlines()
    cases = {
        "truncated": ("\n".join(lines[:-3]) + "\n", "truncated"),
        "bad line": ("\n".join([*lines[:4], "{not json", *lines[4:]]) + "\n", "line 5: invalid JSON"),
        "out of order": ("\n".join([lines[0], lines[-2], *lines[1:-2], lines[-1]]) + "\n", "after the"),
        "newer format": ("\n".join([json.dumps({**json.loads(lines[0]), "version": 99}), *lines[1:]]) + "\n",
                         "format version 99 is newer"),
        "unknown time": ("\n".join(_with_time_field(lines)) + "\n", "relation time field 'decided_at'"),
        "unknown family": ("\n".join(_with_time_field(lines, "family", "home")) + "\n",
                           "relation family 'home' is not one of residence, employment"),
        "dangling": ("\n".join(line for line in lines if '"kind": "entity"' not in line or '"Acme"' not in line) + "\n",
                     "names entity"),
    }
    async with AsyncMemory(config({"provider": "embedded", "path": str(tmp_path / "b.db")})) as copy:
        for name, (text, message) in cases.items():
            broken = tmp_path / f"{name}.jsonl"
            broken.write_text(text, encoding="utf-8")
            with pytest.raises(BackupFileError, match=message):
                await import_full(copy, broken)
            store, _, _ = await copy._ready()
            assert set((await store.content_counts()).values()) == {0}, name


def _with_time_field(lines: list[str], field: str = "decided_at", value: str | None = None) -> list[str]:
    out = []
    for line in lines:
        record = json.loads(line)
        if record.get("kind") == "relation":
            record["times"][field] = value or record["times"]["created_at"]
        out.append(json.dumps(record))
    return out


async def test_another_embedder_re_embeds(tmp_path: Path, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions, SCRIPT.rules))
    path = tmp_path / "backup.jsonl"
    async with AsyncMemory(config({"provider": "embedded", "path": str(tmp_path / "a.db")}, openai_server)) as m:
        await fill(m)
        with path.open("w", encoding="utf-8") as handle:
            await export_full(m, handle)
        before = await store_snapshot(m)
    async with AsyncMemory(config({"provider": "embedded", "path": str(tmp_path / "b.db")}, dims=32)) as copy:
        with pytest.raises(ValueError, match="re-embedding is needed"):
            await import_full(copy, path, RestoreOptions(reembed="never"))
        report = await import_full(copy, path)
        assert report.reembedded is True
        assert await store_snapshot(copy) == before
        found = await copy.search("where does alice live", user_id="alice")
        assert "alice lives in Paris" in [r["memory"] for r in found["results"]]
