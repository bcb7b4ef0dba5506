"""The Neo4j store: the GraphStore protocol on a Neo4j 5.26+ server, cluster or Aura."""

from powermem.stores.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
