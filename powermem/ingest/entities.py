"""Resolving entity names against the tenant's graph before a write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from powermem.embeddings.base import Embedder
from powermem.ids import SnowflakeGenerator
from powermem.ingest.names import normalize_name
from powermem.stores.base import EntityInput, GraphStore, Scope


@dataclass(frozen=True)
class NamedEntity:
    name: str
    type: str = "name"


@dataclass
class Resolution:
    """name_key of each surface name -> the key actually used, and the entities to MERGE.

    ``entities`` holds every entity the write links, existing ones too: the store MERGEs them
    (an existing one keeps its id and embedding), so an entity deleted by a concurrent call
    after this lookup is recreated instead of leaving a mention or relation without an end.
    """

    keys: dict[str, str]
    entities: list[EntityInput]


class EntityResolver:
    """Normalised-name match first, then embedding similarity above a threshold."""

    def __init__(self, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, threshold: float) -> None:
        self._store = store
        self._embedder = embedder
        self._ids = ids
        self._threshold = threshold

    async def existing_keys(self, scope: Scope, names: Iterable[str]) -> set[str]:
        keys = {normalize_name(n) for n in names} - {""}
        return {e.name_key for e in await self._store.entities_by_key(scope, sorted(keys))}

    async def resolve(self, scope: Scope, entities: Sequence[NamedEntity], *, fuzzy: bool) -> Resolution:
        by_key: dict[str, NamedEntity] = {}
        for entity in entities:
            key = normalize_name(entity.name)
            if key and key not in by_key:
                by_key[key] = entity
        if not by_key:
            return Resolution({}, [])
        existing = {e.name_key for e in await self._store.entities_by_key(scope, sorted(by_key))}
        vectors = await self._embedder.embed([entity.name for entity in by_key.values()])
        keys: dict[str, str] = {}
        merged: dict[str, EntityInput] = {}
        for (key, entity), vector in zip(by_key.items(), vectors, strict=True):
            match = await self._similar_key(scope, vector) if fuzzy and key not in existing else None
            target = match or key
            keys[key] = target
            if target not in merged:
                merged[target] = EntityInput(self._ids.next_id(), entity.name.strip(), target, entity.type, vector)
        return Resolution(keys, list(merged.values()))

    async def _similar_key(self, scope: Scope, vector: object) -> str | None:
        found = await self._store.similar_entities(scope, vector, 1, self._threshold)  # type: ignore[arg-type]
        return found[0][0].name_key if found else None
