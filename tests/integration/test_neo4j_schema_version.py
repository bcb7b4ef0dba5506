"""The Neo4j store records its schema version (a PowermemMeta node); initialize() brings a
store of the previous release (graph_version 2 and no schema_version: what commit e330da7
wrote) up to date, and refuses a store of a newer release."""

from __future__ import annotations

from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.errors import ConfigError
from powermem.stores.neo4j.migration import GRAPH_VERSION, SCHEMA_VERSION
from tests.support import graph_scan

pytestmark = pytest.mark.neo4j


def config(neo4j_store_config: dict[str, Any]) -> dict[str, Any]:
    return {"store": {"provider": "neo4j", **neo4j_store_config}, "embedding": {"provider": "hashing", "dims": 64},
            "llm": {"provider": "none"}}


def meta(neo4j_store_config: dict[str, Any], query: str, **params: Any) -> list[dict[str, Any]]:
    import neo4j

    auth = (neo4j_store_config.get("username") or "neo4j", neo4j_store_config.get("password") or "")
    with neo4j.GraphDatabase.driver(neo4j_store_config["uri"], auth=auth) as driver:
        records, _, _ = driver.execute_query(query, params, database_=neo4j_store_config.get("database") or None)
        return [r.data() for r in records]


# The version nodes only (PowermemMeta also records the dimension: key 'dims').
VERSIONS = "MATCH (m:PowermemMeta) WHERE m.key ENDS WITH '_version' RETURN m.key AS key, m.value AS value ORDER BY key"


async def test_the_previous_release_store_gets_its_version_recorded(neo4j_store_config: dict[str, Any]) -> None:
    async with AsyncMemory(config(neo4j_store_config)) as m:
        await m.reset()
        await m.add("Dana met Eli in Lisbon", user_id="dana", infer=False)
    assert meta(neo4j_store_config, VERSIONS) == [{"key": "graph_version", "value": GRAPH_VERSION},
                                                   {"key": "schema_version", "value": SCHEMA_VERSION}]
    before = graph_scan.dump({"store": {"provider": "neo4j", **neo4j_store_config}})
    meta(neo4j_store_config, "MATCH (m:PowermemMeta {key: 'schema_version'}) DELETE m")  # as e330da7 left it
    async with AsyncMemory(config(neo4j_store_config)) as m:
        listed = await m.get_all(user_id="dana")
        assert [r["memory"] for r in listed["results"]] == ["Dana met Eli in Lisbon"]
        await m.reset()
    assert meta(neo4j_store_config, VERSIONS)[1] == {"key": "schema_version", "value": SCHEMA_VERSION}
    assert before.memories and not before.dangling


async def test_a_store_of_a_newer_release_is_refused(neo4j_store_config: dict[str, Any]) -> None:
    async with AsyncMemory(config(neo4j_store_config)):
        pass
    newer = SCHEMA_VERSION + 1
    meta(neo4j_store_config, "MATCH (m:PowermemMeta {key: 'schema_version'}) SET m.value = $v", v=newer)
    try:
        with pytest.raises(ConfigError, match=f"schema version {newer}, newer than this powermem"):
            async with AsyncMemory(config(neo4j_store_config)):
                pass
        assert meta(neo4j_store_config, VERSIONS)[1]["value"] == newer  # left as it was
    finally:
        meta(neo4j_store_config, "MATCH (m:PowermemMeta {key: 'schema_version'}) SET m.value = $v", v=SCHEMA_VERSION)
