"""What powermem asks of the Neo4j server beyond its schema: vector indexes of full-precision
vectors in wider HNSW graphs (docs/neo4j.md, "Vector search performance"), a warning for an
index created before that, and the local server's keep-alive setting ("Bolt keep-alive")."""

from __future__ import annotations

import logging
import os

import pytest

from powermem.config import StoreConfig
from powermem.stores.neo4j import Neo4jStore
from tests.integration.test_neo4j_store import cypher
from tests.support.neo4j import TEST_DIMS, neo4j_config_fixture, neo4j_store_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.neo4j


async def test_vector_indexes_keep_full_precision_vectors_in_wider_graphs(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    rows = await cypher(
        neo4j_config,
        "SHOW VECTOR INDEXES YIELD name, options RETURN name, options.indexConfig['vector.quantization.enabled'] AS q, "
        "options.indexConfig['vector.hnsw.ef_construction'] AS ef",
    )
    assert {r["name"]: (r["q"], r["ef"]) for r in rows} == {"memory_embedding": (False, 200),
                                                            "entity_embedding": (False, 200)}


async def test_a_quantized_index_from_before_is_kept_and_named_in_a_warning(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig, caplog: pytest.LogCaptureFixture
) -> None:
    await cypher(neo4j_config, "DROP INDEX entity_embedding IF EXISTS")
    await cypher(
        neo4j_config,
        "CREATE VECTOR INDEX entity_embedding FOR (e:Entity) ON (e.embedding) OPTIONS {indexConfig: "
        "{`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: true}}",
        dims=TEST_DIMS,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="powermem.stores.neo4j.store"):
            await neo4j_store.initialize(TEST_DIMS)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("entity_embedding quantize" in w and "DROP INDEX" in w for w in warnings), warnings
        assert not any("memory_embedding" in w for w in warnings)
    finally:
        await cypher(neo4j_config, "DROP INDEX entity_embedding IF EXISTS")
    await neo4j_store.initialize(TEST_DIMS)
    rows = await cypher(neo4j_config, "SHOW VECTOR INDEXES YIELD name, options WHERE name = 'entity_embedding' "
                                      "RETURN options.indexConfig['vector.quantization.enabled'] AS q")
    assert rows == [{"q": False}]


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")) and not os.environ.get("NEO4J_LOCAL_VERSION"),
                    reason="a server not started by scripts/neo4j-local has its own settings")
async def test_the_local_server_sends_keep_alives_only_while_streaming(neo4j_config: StoreConfig) -> None:
    # With ALL the server asks drivers for a receive timeout, which the async driver honours with a
    # task and a timer per socket read: twice the client CPU of every query (docs/neo4j.md).
    rows = await cypher(neo4j_config, "SHOW SETTINGS YIELD name, value "
                                      "WHERE name = 'server.bolt.connection_keep_alive_for_requests' RETURN value")
    assert rows == [{"value": "STREAMING"}]
