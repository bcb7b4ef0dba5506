"""Store implementations behind the GraphStore protocol, and the factory that picks one."""

from __future__ import annotations

from powermem.config import StoreConfig
from powermem.stores.base import GraphStore


def create_store(config: StoreConfig) -> GraphStore:
    if config.provider == "neo4j":
        from powermem.stores.neo4j.store import Neo4jStore  # the driver loads only when used

        return Neo4jStore(config)
    from powermem.stores.embedded.store import EmbeddedStore

    return EmbeddedStore(config)
