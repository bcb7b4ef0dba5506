"""Resolving entity names against the tenant's graph before a write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from powermem.embeddings.base import Embedder
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import EntityInput, GraphStore, Scope
from powermem.text.names import normalize_name


@dataclass(frozen=True)
class NamedEntity:
    name: str
    type: str = "name"


@dataclass
class Resolution:
    """name_key of each surface name -> the key actually used, and the entities to MERGE."""

    keys: dict[str, str]
    new_entities: list[EntityInput]


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
        existing = {e.name_key for e in await self._store.entities_by_key(scope, sorted(by_key))}
        missing = [k for k in by_key if k not in existing]
        keys = {k: k for k in existing}
        if not missing:
            return Resolution(keys, [])
        vectors = await self._embedder.embed([by_key[k].name for k in missing])
        new: list[EntityInput] = []
        for key, vector in zip(missing, vectors, strict=False):
            match = await self._similar_key(scope, vector) if fuzzy else None
            if match is not None:
                keys[key] = match
                continue
            keys[key] = key
            entity = by_key[key]
            new.append(EntityInput(self._ids.next_id(), entity.name.strip(), key, entity.type, vector))
        return Resolution(keys, new)

    async def _similar_key(self, scope: Scope, vector: object) -> str | None:
        found = await self._store.similar_entities(scope, vector, 1, self._threshold)  # type: ignore[arg-type]
        return found[0][0].name_key if found else None
