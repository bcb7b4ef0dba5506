"""The Neo4j store against a real server: schema, concurrency, scoped search, filters, failures.

The contract suite checks the API on both stores; these tests check what only Neo4j can get
wrong: races on the schema and on MERGE, the exact/ANN switch, Cypher filter compilation,
Lucene escaping and how connection failures surface.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from neo4j import AsyncGraphDatabase
from pydantic import SecretStr

from powermem import AsyncMemory
from powermem.config import StoreConfig
from powermem.errors import ConfigError, InvalidInputError, StoreError
from powermem.filters import now_timestamp, parse_filters
from powermem.ids import SnowflakeGenerator
from powermem.redact import reveal
from powermem.stores.base import (
    EntityInput,
    MemoryChange,
    NewMemory,
    RelationInput,
    Scope,
    Subgraph,
    WritePlan,
)
from powermem.stores.neo4j import Neo4jStore
from powermem.stores.neo4j import fulltext as fulltext_module
from powermem.stores.neo4j.fulltext import lucene_query, scope_clause
from tests.support.neo4j import ROOT, TEST_DIMS, neo4j_config_fixture, neo4j_store_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.neo4j

IDS = SnowflakeGenerator(7)
RNG = np.random.default_rng(20261130)


def unit(n: int = 1, dims: int = TEST_DIMS) -> np.ndarray:
    v = RNG.standard_normal((n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def new_memory(text: str, scope: Scope, vector: np.ndarray | None = None, metadata: dict[str, Any] | None = None,
               entity_keys: tuple[str, ...] = (), created_at: str | None = None) -> NewMemory:
    return NewMemory(
        id=IDS.next_id(), memory=text, hash=str(hash(text)), embedding=unit()[0] if vector is None else vector,
        scope=scope, metadata=metadata or {}, created_at=created_at or now_timestamp(), entity_keys=entity_keys,
    )


def entity(name: str) -> EntityInput:
    return EntityInput(id=IDS.next_id(), name=name.title(), name_key=name, type="thing", embedding=unit()[0])


async def cypher(config: StoreConfig, query: str, **params: Any) -> list[dict[str, Any]]:
    """Direct queries, to look at the graph as Neo4j Browser would."""
    async with AsyncGraphDatabase.driver(config.uri, auth=(config.username, reveal(config.password) or "")) as driver:
        records, _, _ = await driver.execute_query(query, params, database_=config.database)
        return [r.data() for r in records]


# -- schema ------------------------------------------------------------------------------------

SCHEMA_NAMES = [
    "memory_id", "entity_id", "memory_event_id", "entity_tenant_name", "memory_user_id", "memory_agent_id",
    "memory_run_id", "memory_tenant_id", "entity_tenant", "entity_user_id", "entity_agent_id",
    "memory_event_memory_id", "memory_text", "entity_name", "memory_embedding", "entity_embedding",
    "powermem_meta_key",
]


async def schema_names(config: StoreConfig) -> set[str]:
    rows = await cypher(config, "SHOW INDEXES YIELD name RETURN name")
    rows += await cypher(config, "SHOW CONSTRAINTS YIELD name RETURN name")
    return {r["name"] for r in rows}


async def test_initialize_twice_is_idempotent(neo4j_store: Neo4jStore, neo4j_config: StoreConfig) -> None:
    await neo4j_store.initialize(TEST_DIMS)
    await neo4j_store.initialize(TEST_DIMS)
    assert set(SCHEMA_NAMES) <= await schema_names(neo4j_config)


async def test_initialize_with_another_dimension_is_a_config_error(neo4j_store: Neo4jStore) -> None:
    with pytest.raises(ConfigError, match="64-dimensional"):
        await neo4j_store.initialize(TEST_DIMS + 1)


async def test_another_vector_index_on_memory_embeddings_is_named_in_the_error(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    # CREATE ... IF NOT EXISTS is a silent no-op when another index covers the property; the
    # store would then query an index that does not exist.
    await cypher(neo4j_config, "DROP INDEX memory_embedding IF EXISTS")
    await cypher(
        neo4j_config,
        "CREATE VECTOR INDEX stray_vectors FOR (m:Memory) ON (m.embedding) "
        "OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine'}}",
        dims=TEST_DIMS,
    )
    try:
        with pytest.raises(ConfigError, match="'stray_vectors' on :Memory\\(embedding\\)"):
            await neo4j_store.initialize(TEST_DIMS)
    finally:
        await cypher(neo4j_config, "DROP INDEX stray_vectors IF EXISTS")
    await neo4j_store.initialize(TEST_DIMS)
    assert "memory_embedding" in await schema_names(neo4j_config)


INIT_SCRIPT = """
import asyncio, sys
from powermem.config import StoreConfig
from powermem.stores.neo4j import Neo4jStore
async def main():
    store = Neo4jStore(StoreConfig.model_validate_json(sys.argv[1]))
    try:
        await store.initialize(int(sys.argv[2]))
    finally:
        await store.close()
asyncio.run(main())
"""


async def test_two_processes_create_the_schema_at_once(neo4j_config: StoreConfig) -> None:
    # Drop the schema so that both processes really race to create every object.
    for name in SCHEMA_NAMES:
        await cypher(neo4j_config, "DROP CONSTRAINT $name IF EXISTS", name=name)
        await cypher(neo4j_config, "DROP INDEX $name IF EXISTS", name=name)
    assert not set(SCHEMA_NAMES) & await schema_names(neo4j_config)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A JSON dump masks the password (SecretStr), so the child gets it back in plain text.
    settings = {**neo4j_config.model_dump(mode="json"), "password": reveal(neo4j_config.password)}
    args = [sys.executable, "-c", INIT_SCRIPT, json.dumps(settings), str(TEST_DIMS)]
    procs = [subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert set(SCHEMA_NAMES) <= await schema_names(neo4j_config)


# -- connection failures -----------------------------------------------------------------------


async def _initialize_fails(config: StoreConfig, match: str) -> float:
    store = Neo4jStore(config)
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match=match) as info:
            await store.initialize(TEST_DIMS)
    finally:
        await store.close()
    assert info.value.__cause__ is not None, "the driver error must be chained"
    return time.monotonic() - started


async def test_wrong_password_fails_fast(neo4j_config: StoreConfig) -> None:
    config = neo4j_config.model_copy(update={"password": SecretStr("not-the-password")})
    assert await _initialize_fails(config, "authentication") < 10


async def test_a_wrong_password_is_in_no_error_and_no_log(neo4j_config: StoreConfig,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the driver's included
    wrong = "wrong-pw-log-2c8e"
    config = {"store": {**neo4j_config.model_dump(), "password": wrong},
              "embedding": {"provider": "hashing", "dims": TEST_DIMS}, "llm": {"provider": "none"}}
    memory = AsyncMemory(config)
    try:
        with pytest.raises(StoreError, match="authentication rejected") as info:
            await memory.initialize()
    finally:
        await memory.close()
    assert any(r.name.startswith("neo4j") for r in caplog.records), "the driver's debug log was captured"
    assert wrong not in caplog.text
    assert wrong not in f"{info.value} {info.value.__cause__} {info.value.__cause__!r} {memory.config!r}"


def test_the_launcher_env_file_is_private(neo4j_config: StoreConfig) -> None:
    # scripts/neo4j-local writes the password into .neo4j/<target>/env: only its owner may read it.
    env_file = ROOT / ".neo4j" / os.environ.get("NEO4J_LOCAL_TARGET", "5.26") / "env"
    if not env_file.is_file() or f"NEO4J_URI={neo4j_config.uri}\n" not in env_file.read_text(encoding="utf-8"):
        pytest.skip("the test server was not started by this checkout's scripts/neo4j-local")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


async def test_unreachable_port_fails_fast(neo4j_config: StoreConfig) -> None:
    config = neo4j_config.model_copy(update={"uri": "bolt://127.0.0.1:1"})
    assert await _initialize_fails(config, "unreachable") < 10


async def test_missing_database_fails_with_its_name(neo4j_config: StoreConfig) -> None:
    config = neo4j_config.model_copy(update={"database": "nosuchdatabase"})
    assert await _initialize_fails(config, "does not exist") < 10


async def test_unsupported_scheme_is_a_config_error(neo4j_config: StoreConfig) -> None:
    store = Neo4jStore(neo4j_config.model_copy(update={"uri": "http://127.0.0.1:7474"}))
    with pytest.raises(ConfigError, match="bolt"):
        await store.initialize(TEST_DIMS)


async def test_routing_scheme_works_on_a_single_server(neo4j_store: Neo4jStore, neo4j_config: StoreConfig) -> None:
    scope = Scope(user_id="routed")
    memory = new_memory("via neo4j://", scope)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[memory], at=now_timestamp()))
    routed = Neo4jStore(neo4j_config.model_copy(update={"uri": neo4j_config.uri.replace("bolt://", "neo4j://")}))
    try:
        await routed.initialize(TEST_DIMS)
        row = await routed.get(memory.id, scope)
        assert row is not None and row.memory == "via neo4j://"
    finally:
        await routed.close()


class DroppingProxy:
    """A loopback TCP relay to the test server that can cut the next request's connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.cut_next_request = False
        self.cuts = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, is_request: bool) -> None:
            while data := await reader.read(65536):
                if is_request and self.cut_next_request:
                    self.cut_next_request, self.cuts = False, self.cuts + 1
                    break
                writer.write(data)
                await writer.drain()
            for w in (client_w, server_w):
                w.close()

        await asyncio.gather(pump(client_r, server_w, True), pump(server_r, client_w, False), return_exceptions=True)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_read_cut_off_by_the_network_is_retried(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig, caplog: pytest.LogCaptureFixture
) -> None:
    scope = Scope(user_id="flaky")
    memory = new_memory("read me twice", scope)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[memory], at=now_timestamp()))
    host, port = neo4j_config.uri.split("://")[1].split(":")
    proxy = DroppingProxy(host, int(port))
    store = Neo4jStore(neo4j_config.model_copy(update={"uri": f"bolt://127.0.0.1:{await proxy.start()}"}))
    try:
        await store.initialize(TEST_DIMS)
        proxy.cut_next_request = True
        row = await store.get(memory.id, scope)  # an auto-commit read: the driver would not retry it
        assert row is not None and row.memory == "read me twice"
        assert proxy.cuts == 1
        assert any("retrying" in r.getMessage() for r in caplog.records)
    finally:
        await store.close()
        await proxy.close()


# -- writes ------------------------------------------------------------------------------------

TENANTS = [Scope(user_id=f"user{i}", agent_id="agent") for i in range(5)]
NAMES = ["alice", "acme", "paris", "bob", "rome", "jazz", "tea"]


def concurrent_plan(i: int) -> WritePlan:
    scope = TENANTS[i % len(TENANTS)]
    names = [NAMES[(i + j) % len(NAMES)] for j in (0, 2, 3)]
    at = now_timestamp()
    memory = new_memory(f"memory {i} about {' '.join(names)}", scope, entity_keys=tuple(names), created_at=at)
    relation = RelationInput(IDS.next_id(), names[0], names[1], "KNOWS", f"{names[0]} knows {names[1]}",
                             (memory.id,), at, at)
    return WritePlan(scope=scope, creates=[memory], entities=[entity(n) for n in names], relations=[relation], at=at)


async def test_concurrent_applies_never_duplicate_entities(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    plans = [concurrent_plan(i) for i in range(200)]
    results = await asyncio.gather(*(neo4j_store.apply(plan) for plan in plans))
    assert sum(len(r.created) for r in results) == 200
    duplicates = await cypher(
        neo4j_config,
        "MATCH (e:Entity) WITH e.tenant AS t, e.name_key AS k, count(*) AS c WHERE c > 1 RETURN t, k, c",
    )
    assert duplicates == []
    stats = await neo4j_store.stats(Scope())
    assert sum(s.memories for s in stats) == 200
    assert [s.entities for s in stats] == [len(NAMES)] * len(TENANTS)
    for plan in plans[:20]:
        assert await neo4j_store.get(plan.creates[0].id, plan.scope) is not None


async def test_apply_is_one_transaction(neo4j_store: Neo4jStore) -> None:
    scope = Scope(user_id="atomic")
    good = new_memory("kept only if everything is written", scope)
    clash = new_memory("second memory with the same id", scope)
    clash = NewMemory(**{**clash.__dict__, "id": good.id})
    with pytest.raises(StoreError, match="constraint"):
        await neo4j_store.apply(WritePlan(scope=scope, creates=[good, clash], at=now_timestamp()))
    assert await neo4j_store.get(good.id, scope) is None
    assert await neo4j_store.history(good.id, scope) == []


async def test_relation_type_is_checked_before_sending(neo4j_store: Neo4jStore) -> None:
    scope = Scope(user_id="inject")
    memory = new_memory("a", scope, entity_keys=("a", "b"))
    at = now_timestamp()
    bad = RelationInput(IDS.next_id(), "a", "b", "KNOWS]->(x) DETACH DELETE x //", "f", (memory.id,), at, at)
    with pytest.raises(InvalidInputError, match="relationship type"):
        await neo4j_store.apply(
            WritePlan(scope=scope, creates=[memory], entities=[entity("a"), entity("b")], relations=[bad], at=at)
        )
    assert await neo4j_store.get(memory.id, scope) is None


async def test_update_delete_history_and_graph_cleanup(neo4j_store: Neo4jStore, neo4j_config: StoreConfig) -> None:
    scope = Scope(user_id="u", agent_id="a", run_id="r")
    at = now_timestamp()
    first = new_memory("Alice works at Acme", scope, metadata={"source": "chat", "n": 1}, entity_keys=("acme", "alice"))
    second = new_memory("Alice lives in Paris", scope, entity_keys=("alice", "paris"))
    works = RelationInput(IDS.next_id(), "alice", "acme", "WORKS_AT", "Alice works at Acme", (first.id,), at, at)
    lives = RelationInput(IDS.next_id(), "alice", "paris", "LIVES_IN", "Alice lives in Paris", (second.id,), at, at)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[first, second], relations=[works, lives], at=at,
                                      entities=[entity("alice"), entity("acme"), entity("paris")]))

    # Another tenant can neither update nor delete; the plan behaves as if the memory were missing.
    other = await neo4j_store.apply(WritePlan(scope=Scope(user_id="intruder"), deletes=[first.id], at=now_timestamp(),
                                              updates=[MemoryChange(first.id, now_timestamp(), memory="x")]))
    assert other.updated == {} and other.deleted == {}

    change = MemoryChange(first.id, now_timestamp(), memory="Alice works at Initech", hash="h2",
                          metadata_patch={"n": 2, "source": None}, entity_keys=("alice",))
    result = await neo4j_store.apply(WritePlan(scope=scope, updates=[change], invalidations=[works.id], at=now_timestamp()))
    assert result.updated == {first.id: "Alice works at Acme"}
    row = await neo4j_store.get(first.id, scope)
    assert row is not None and row.memory == "Alice works at Initech" and row.metadata == {"n": 2}
    # The old md_source property went with the old metadata: filters see only the new one.
    assert await neo4j_store.get_many([first.id], scope, parse_filters({"source": {"exists": True}})) == []
    relations = await neo4j_store.relations(Scope(user_id="u", agent_id="a"), include_invalid=True, limit=10)
    assert {r.relationship: r.invalid_at is not None for r in relations} == {"WORKS_AT": True, "LIVES_IN": False}
    assert [r.relationship for r in await neo4j_store.relations(scope, False, 10)] == ["LIVES_IN"]

    deleted = await neo4j_store.apply(WritePlan(scope=scope, deletes=[second.id], at=now_timestamp()))
    assert deleted.deleted == {second.id: "Alice lives in Paris"}
    # LIVES_IN went with its memory; Paris lost its last link and went too; Acme keeps WORKS_AT.
    assert [r.relationship for r in await neo4j_store.relations(scope, True, 10)] == ["WORKS_AT"]
    keys = {e.name_key for e in await neo4j_store.entities_by_key(scope, ["alice", "acme", "paris"])}
    assert keys == {"alice", "acme"}
    events = await neo4j_store.history(second.id, scope)
    assert [e.event for e in events] == ["ADD", "DELETE"] and events[1].old_memory == "Alice lives in Paris"
    assert await neo4j_store.history(second.id, Scope(user_id="intruder")) == []
    assert [e.event for e in await neo4j_store.history(first.id, scope)] == ["ADD", "UPDATE"]


async def test_delete_scope_deletes_only_that_scope(neo4j_store: Neo4jStore) -> None:
    mine, theirs = Scope(user_id="mine"), Scope(user_id="theirs")
    creates = [new_memory(f"m{i}", mine) for i in range(3)] + [new_memory("t", theirs)]
    await neo4j_store.apply(WritePlan(scope=mine, creates=creates, at=now_timestamp()))
    assert await neo4j_store.delete_scope(mine) == 3
    assert (await neo4j_store.list_memories(mine, None, 10, 0, "created_at", True))[1] == 0
    assert (await neo4j_store.list_memories(theirs, None, 10, 0, "created_at", True))[1] == 1
    assert await neo4j_store.history(creates[0].id, mine) == []  # the scope's history went too
    assert await neo4j_store.history(creates[3].id, theirs) != []
    assert await neo4j_store.delete_scope(Scope()) == 1  # what delete_all(all=True) asks for
    assert await neo4j_store.history(creates[3].id, theirs) == []


async def test_adjacent_and_expand(neo4j_store: Neo4jStore) -> None:
    scope = Scope(user_id="conv", run_id="r1")
    at = now_timestamp()
    turns = [new_memory(f"turn {i}", scope, entity_keys=("x",) if i == 2 else ()) for i in range(5)]
    other_run = new_memory("other run", Scope(user_id="conv", run_id="r2"))
    rel = RelationInput(IDS.next_id(), "x", "y", "LIKES", "x likes y", (turns[2].id,), at, at)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[*turns, other_run], entities=[entity("x"), entity("y")],
                                      relations=[rel], at=at))
    pairs = await neo4j_store.adjacent(scope, [turns[2].id], 1)
    assert pairs == [(turns[2].id, turns[1].id), (turns[2].id, turns[3].id)]
    assert await neo4j_store.adjacent(Scope(user_id="someone else"), [turns[2].id], 1) == []
    graph = await neo4j_store.expand(scope, [], [turns[2].id], hops=2, max_nodes=50)
    assert {e.name_key for e in graph.entities.values()} == {"x", "y"}
    assert [r.relationship for r in graph.relations] == ["LIKES"]
    x = next(e.id for e in graph.entities.values() if e.name_key == "x")
    assert graph.mentions == [(turns[2].id, x)] and graph.degrees[x] == 1
    assert await neo4j_store.expand(Scope(user_id="nobody"), [], [turns[2].id], 2, 50) == Subgraph()


# -- search ------------------------------------------------------------------------------------


async def insert_many(store: Neo4jStore, vectors: np.ndarray, scopes: list[Scope], metadata: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(vectors), 1000):
        batch = [
            new_memory(f"memory {i}", scopes[i], vectors[i], metadata[i], created_at="2026-01-01T00:00:00.000000+00:00")
            for i in range(start, min(start + 1000, len(vectors)))
        ]
        await store.apply(WritePlan(scope=batch[0].scope, creates=batch, at=now_timestamp()))
        ids.extend(m.id for m in batch)
    return ids


@pytest.fixture
async def big_store(neo4j_store: Neo4jStore) -> AsyncIterator[tuple[Neo4jStore, np.ndarray, list[int], list[Scope]]]:
    """20,000 memories: 50 of user 'small', 19,950 of user 'big' (30 of them tagged 'rare')."""
    n = 20_000
    vectors = unit(n)
    scopes = [Scope(user_id="small") if i % 400 == 0 else Scope(user_id="big") for i in range(n)]
    rare = {i for i in range(n) if scopes[i].user_id == "big" and i % 661 == 1}
    metadata = [{"i": i, "tag": "rare" if i in rare else "common"} for i in range(n)]
    ids = await insert_many(neo4j_store, vectors, scopes, metadata)
    yield neo4j_store, vectors, ids, scopes


def truth(vectors: np.ndarray, query: np.ndarray, allowed: list[int], k: int) -> list[int]:
    scores = vectors[allowed] @ query
    return [allowed[i] for i in np.argsort(-scores)[:k]]


async def test_vector_search_returns_k_for_a_small_tenant_among_20000(
    big_store: tuple[Neo4jStore, np.ndarray, list[int], list[Scope]], neo4j_config: StoreConfig
) -> None:
    store, vectors, ids, scopes = big_store
    small = [i for i, s in enumerate(scopes) if s.user_id == "small"]
    assert len(small) == 50
    query = unit()[0]
    hits = await store.vector_search(Scope(user_id="small"), None, query, 10)
    assert [h.id for h in hits] == [ids[i] for i in truth(vectors, query, small, 10)]
    assert hits[0].score == pytest.approx(float(np.max(vectors[small] @ query)), abs=1e-4)
    even = [i for i in small if i % 800 == 0]
    filtered = await store.vector_search(Scope(user_id="small"), parse_filters({"i": {"in": even}}), query, 10)
    assert [h.id for h in filtered] == [ids[i] for i in truth(vectors, query, even, 10)]

    # Force the ANN path (no exact scan): adaptive over-fetch must still find k of the 50.
    ann = Neo4jStore(neo4j_config.model_copy(update={"exact_scan_limit": 0}))
    try:
        await ann.initialize(TEST_DIMS)
        # Servers from 2026.01 filter on the scope inside the index (SEARCH); older ones over-fetch.
        assert ann.uses_search_clause == (int(ann.server_version.split(".")[0]) >= 2026)
        ann_hits = await ann.vector_search(Scope(user_id="small"), None, query, 10)
        assert len(ann_hits) == 10 and {h.id for h in ann_hits} <= {ids[i] for i in small}
        assert len({h.id for h in ann_hits} & {h.id for h in hits}) >= 8  # approximate, but close
        rare = [i for i, s in enumerate(scopes) if s.user_id == "big" and i % 661 == 1]
        # 30 of 19,950: found by a large over-fetch (or the exact fallback past its limit).
        rare_hits = await ann.vector_search(Scope(user_id="big"), parse_filters({"tag": "rare"}), query, 10)
        assert len(rare_hits) == 10 and {h.id for h in rare_hits} <= {ids[i] for i in rare}
        assert len({h.id for h in rare_hits} & {ids[i] for i in truth(vectors, query, rare, 10)}) >= 8
    finally:
        await ann.close()


async def test_a_scope_remembered_as_large_still_searches_right_after_shrinking(neo4j_config: StoreConfig) -> None:
    # The store remembers that a scope outgrew the exact scan and then skips the count; when
    # deletes shrink the scope, the index path must still return the exact k that remain.
    store = Neo4jStore(neo4j_config.model_copy(update={"exact_scan_limit": 20}))
    try:
        await store.initialize(TEST_DIMS)
        await store.reset()
        scope, other = Scope(user_id="shrinks"), Scope(user_id="crowd")
        vectors = unit(60)
        mine = [new_memory(f"mine {i}", scope, vectors[i]) for i in range(30)]
        crowd = [new_memory(f"crowd {i}", other, vectors[30 + i]) for i in range(30)]
        await store.apply(WritePlan(scope=scope, creates=mine, at=now_timestamp()))
        await store.apply(WritePlan(scope=other, creates=crowd, at=now_timestamp()))
        query = unit()[0]
        assert len(await store.vector_search(scope, None, query, 5)) == 5  # 30 > 20: remembered as large
        await store.apply(WritePlan(scope=scope, deletes=[m.id for m in mine[3:]], at=now_timestamp()))
        hits = await store.vector_search(scope, None, query, 5)
        assert [h.id for h in hits] == [mine[i].id for i in truth(vectors[:3], query, [0, 1, 2], 5)]
    finally:
        await store.close()


async def test_vector_scores_are_cosines(neo4j_store: Neo4jStore) -> None:
    scope = Scope(user_id="cos")
    base = unit()[0]
    opposite = new_memory("opposite", scope, -base)
    same = new_memory("same", scope, base)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[opposite, same], at=now_timestamp()))
    hits = await neo4j_store.vector_search(scope, None, base, 5)
    assert [h.id for h in hits] == [same.id, opposite.id]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5) and hits[1].score == pytest.approx(-1.0, abs=1e-5)


async def test_zero_vectors_score_as_cosine_zero(neo4j_store: Neo4jStore) -> None:
    # A text without words embeds to a zero vector with the hashing embedder; cosine is then
    # undefined (and newer servers raise): it must not break the tenant's searches.
    scope = Scope(user_id="zero")
    base = unit()[0]
    zero = new_memory("!!!", scope, np.zeros(TEST_DIMS, dtype=np.float32), entity_keys=("z",))
    same = new_memory("same", scope, base)
    await neo4j_store.apply(WritePlan(scope=scope, creates=[zero, same], at=now_timestamp(),
                                      entities=[EntityInput(IDS.next_id(), "Z", "z", "x", np.zeros(TEST_DIMS, np.float32))]))
    hits = await neo4j_store.vector_search(scope, None, base, 5)
    assert [(h.id, round(h.score, 4)) for h in hits] == [(same.id, 1.0), (zero.id, 0.0)]
    hits = await neo4j_store.vector_search(scope, None, np.zeros(TEST_DIMS, dtype=np.float32), 5)
    assert sorted(h.id for h in hits) == sorted([zero.id, same.id]) and {h.score for h in hits} == {0.0}
    assert [(e.name_key, s) for e, s in await neo4j_store.similar_entities(scope, base, 5, -1.0)] == [("z", 0.0)]
    change = MemoryChange(same.id, now_timestamp(), embedding=np.zeros(TEST_DIMS, dtype=np.float32))
    await neo4j_store.apply(WritePlan(scope=scope, updates=[change], at=now_timestamp()))
    assert {h.score for h in await neo4j_store.vector_search(scope, None, base, 5)} == {0.0}


async def test_fulltext_terms_are_literal_and_scoped(neo4j_store: Neo4jStore) -> None:
    scope, other = Scope(user_id="ft", agent_id="a"), Scope(user_id="ft", agent_id="b")
    texts = ["Alice AND Bob went to the c++ meetup", "NOT this one: a*b?c", "plain words only"]
    memories = [new_memory(t, scope) for t in texts] + [new_memory("Alice AND Bob elsewhere", other)]
    await neo4j_store.apply(WritePlan(scope=scope, creates=memories, at=now_timestamp()))
    hits = await neo4j_store.fulltext_search(scope, None, ["and"], 10)
    assert [h.id for h in hits] == [memories[0].id]
    assert await neo4j_store.fulltext_search(scope, None, ["c++", "a*b?c", "(", "\\", '"'], 10)  # no syntax error
    assert {h.id for h in await neo4j_store.fulltext_search(Scope(user_id="ft"), None, ["alice"], 10)} == {
        memories[0].id, memories[3].id}
    assert await neo4j_store.fulltext_search(scope, None, [], 10) == []
    assert await neo4j_store.fulltext_search(scope, parse_filters({"memory": {"contains": "plain"}}), ["words"], 10)


async def test_fulltext_plans_return_what_lucene_scoping_returns(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big tenant's search post-filters (cheaper), a small one's scopes inside Lucene; hits and
    scores are those of the scoped Lucene query either way."""
    big, small = Scope(user_id="ft-big"), Scope(user_id="ft-small")
    words = ["kayak", "island", "paddle", "harbour", "ferry"]
    big_memories = [new_memory(f"{words[i % 5]} {words[(i * 3) % 7 % 5]} trip {i} " + "x " * (i % 4), big)
                    for i in range(120)]
    small_memories = [new_memory(f"{words[i % 5]} note {i}", small) for i in range(6)]
    await neo4j_store.apply(WritePlan(scope=big, creates=big_memories, at=now_timestamp()))
    await neo4j_store.apply(WritePlan(scope=small, creates=small_memories, at=now_timestamp()))
    terms = ["kayak", "ferry", "trip"]

    async def scoped(scope: Scope, k: int) -> list[tuple[int, float]]:
        rows = await cypher(
            neo4j_config, "CALL db.index.fulltext.queryNodes('memory_text', $q, {limit: $k}) YIELD node, score "
            "RETURN node.id AS id, score", q=f"{lucene_query(terms)}{scope_clause(scope)}", k=k)
        return [(r["id"], r["score"]) for r in rows]

    for scope, k in [(big, 10), (big, 50), (small, 4), (small, 10)]:
        for _ in range(2):  # the first search of a scope plans the second
            hits = [(h.id, h.score) for h in await neo4j_store.fulltext_search(scope, None, terms, k)]
            expected = await scoped(scope, k)
            assert [s for _, s in hits] == [s for _, s in expected]
            # Ties aside: which of the memories tied at the k-th score make the cut is Lucene's choice.
            last = expected[-1][1] if len(expected) == k else -1.0
            assert {i for i, s in hits if s > last} == {i for i, s in expected if s > last}
            assert hits == sorted(hits, key=lambda h: (-h[1], -h[0]))
    assert {h.id for h in await neo4j_store.fulltext_search(small, None, terms, 10)} <= {m.id for m in small_memories}
    # Each scope's share of the matches sizes its next fetch.
    assert neo4j_store._text_plans.first_fetch(big, 10) < 40 < neo4j_store._text_plans.first_fetch(small, 10)
    # Past the post-filter's largest fetch, the scope goes into the Lucene query (the same hits).
    monkeypatch.setattr(fulltext_module, "MAX_POST_FILTER_FETCH", 48)
    neo4j_store._text_plans.clear()
    hits = await neo4j_store.fulltext_search(small, None, terms, 4)
    assert [(h.id, h.score) for h in hits] == sorted(await scoped(small, 4), key=lambda h: (-h[1], -h[0]))


def test_lucene_query_escapes_every_special_character() -> None:
    query = lucene_query(['a+b-c&&d||e!f(g)h{i}j[k]l^m"n~o*p?q:r\\s/t', "AND", "OR", "NOT"])
    assert query == (
        'memory:("a\\+b\\-c\\&\\&d\\|\\|e\\!f\\(g\\)h\\{i\\}j\\[k\\]l\\^m\\"n\\~o\\*p\\?q\\:r\\\\s\\/t"'
        ' OR "AND" OR "OR" OR "NOT")'
    )
    assert lucene_query(["", "  "]) is None


# -- filters -----------------------------------------------------------------------------------

FILTER_DATA = {
    "m1": ("Alpha one", {"cat": "food", "n": 2, "flag": True, "title": "Trip to Rome"}),
    "m2": ("beta two", {"cat": "Food", "n": 2.5, "flag": False, "title": "rome trip"}),
    "m3": ("alpha three", {"cat": "travel", "n": "2", "due": "2026-01-01"}),
    "m4": ("gamma", {"n": 10, "list": [1, 2], "nested": {"cat": "food"}}),
    "m5": ("delta", {"cat": 1, "flag": 1, "none": None}),
}
ALL = set(FILTER_DATA)
FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"cat": "food"}, {"m1"}),
    ({"cat": {"eq": "food"}}, {"m1"}),
    ({"cat": {"ne": "food"}}, ALL - {"m1"}),
    ({"n": {"gt": 2}}, {"m2", "m4"}),
    ({"n": {"gte": 2}}, {"m1", "m2", "m4"}),
    ({"n": {"lt": 3}}, {"m1", "m2"}),
    ({"n": {"lte": 2}}, {"m1"}),
    ({"n": 2}, {"m1"}),
    ({"n": "2"}, {"m3"}),
    ({"n": {"gt": "1"}}, {"m3"}),
    ({"flag": True}, {"m1"}),
    ({"flag": 1}, {"m5"}),
    ({"flag": {"ne": True}}, ALL - {"m1"}),
    ({"cat": {"in": ["food", "travel", 1]}}, {"m1", "m3", "m5"}),
    ({"cat": {"in": []}}, set()),
    ({"cat": {"nin": ["food"]}}, ALL - {"m1"}),
    ({"cat": {"nin": []}}, ALL),
    ({"title": {"contains": "Rome"}}, {"m1"}),
    ({"title": {"icontains": "ROME"}}, {"m1", "m2"}),
    ({"cat": {"icontains": "FOO"}}, {"m1", "m2"}),
    ({"due": {"exists": True}}, {"m3"}),
    ({"due": {"exists": False}}, ALL - {"m3"}),
    ({"list": {"exists": True}}, set()),
    ({"none": {"exists": True}}, set()),
    ({"NOT": {"cat": "food"}}, ALL - {"m1"}),
    ({"NOT": {"n": {"gt": 2}}}, {"m1", "m3", "m5"}),
    ({"NOT": {"NOT": {"n": {"gt": 2}}}}, {"m2", "m4"}),
    ({"OR": [{"cat": "food"}, {"n": 10}]}, {"m1", "m4"}),
    ({"AND": [{"n": {"gte": 2}}, {"flag": False}]}, {"m2"}),
    ({"n": {"gte": 2}, "flag": False}, {"m2"}),
    ({"$or": [{"cat": {"$eq": "travel"}}, {"n": {"$lt": 0}}]}, {"m3"}),
    ({"memory": {"icontains": "ALPHA"}}, {"m1", "m3"}),
    ({"memory": {"contains": "alpha"}}, {"m3"}),
    ({"memory": "gamma"}, {"m4"}),
    ({"memory": {"exists": True}}, ALL),
    ({"created_at": {"gte": "2026-03-03T00:00:00+00:00"}}, {"m3", "m4", "m5"}),
    ({"created_at": {"lt": "2026-03-03T00:00:00Z"}}, {"m1", "m2"}),
]


@pytest.fixture
async def filter_store(neo4j_store: Neo4jStore) -> tuple[Neo4jStore, dict[int, str]]:
    scope = Scope(user_id="filters")
    creates = [
        new_memory(text, scope, metadata=meta, created_at=f"2026-03-0{i + 1}T00:00:00.000000+00:00")
        for i, (text, meta) in enumerate(FILTER_DATA.values())
    ]
    await neo4j_store.apply(WritePlan(scope=scope, creates=creates, at=now_timestamp()))
    return neo4j_store, {m.id: name for m, name in zip(creates, FILTER_DATA, strict=True)}


@pytest.mark.parametrize(("filters", "expected"), FILTER_CASES, ids=[str(f) for f, _ in FILTER_CASES])
async def test_filter_operator(
    filter_store: tuple[Neo4jStore, dict[int, str]], filters: dict[str, Any], expected: set[str]
) -> None:
    store, names = filter_store
    rows, total = await store.list_memories(Scope(user_id="filters"), parse_filters(filters), 100, 0, "created_at", False)
    assert {names[r.id] for r in rows} == expected
    assert total == len(expected)
    hits = await store.vector_search(Scope(user_id="filters"), parse_filters(filters), unit()[0], 10)
    assert {names[h.id] for h in hits} == expected


async def test_metadata_keys_never_reach_the_query_text(filter_store: tuple[Neo4jStore, dict[int, str]]) -> None:
    store, _ = filter_store
    # Keys are validated by the parser; a key that is valid but odd still only names a property.
    rows, _ = await store.list_memories(Scope(user_id="filters"), parse_filters({"n_OR_true": 1}), 10, 0, "id", True)
    assert rows == []


def test_compiled_filters_carry_values_only_as_parameters() -> None:
    from powermem.stores.neo4j.filters import Params, compile_filter

    evil = "x' OR 1=1 WITH m MATCH (n) DETACH DELETE n //"
    node = parse_filters({"title": {"contains": evil}, "OR": [{"k": {"in": [evil, 3]}}, {"NOT": {"k": evil}}]})
    params = Params()
    text = compile_filter(node, params).text
    assert evil not in text and "title" not in text and "DELETE" not in text
    assert evil in params.values.values() and "md_title" in params.values.values()
