"""Resolving entity names against the tenant's graph before a write."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from powermem.embeddings.base import Embedder
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import EntityInput, GraphStore, Scope, Vector
from powermem.text.names import normalize_name

# Entity names recur in add after add (the speakers, the people and places they talk about):
# each distinct name is embedded once per process, up to this many kept (1.5 KiB each at 384
# dimensions). An embedding is a function of its text, so a kept one is the one a new call gives.
NAME_VECTORS_KEPT = 4096


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
        self._name_vectors: OrderedDict[str, Vector] = OrderedDict()

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
        vectors = await self._name_embeddings([entity.name for entity in by_key.values()])
        keys: dict[str, str] = {}
        merged: dict[str, EntityInput] = {}
        for (key, entity), vector in zip(by_key.items(), vectors, strict=True):
            match = await self._similar_key(scope, vector) if fuzzy and key not in existing else None
            target = match or key
            keys[key] = target
            if target not in merged:
                merged[target] = EntityInput(self._ids.next_id(), entity.name.strip(), target, entity.type, vector)
        return Resolution(keys, list(merged.values()))

    async def _name_embeddings(self, names: list[str]) -> list[Vector]:
        """The embedding of each name: those embedded before from the cache, the rest in one call."""
        kept, unique = self._name_vectors, list(dict.fromkeys(names))
        # Taken before the await: a concurrent resolve may evict while this one embeds.
        found = {name: kept[name] for name in unique if name in kept}
        missing = [name for name in unique if name not in found]
        if missing:
            for name, vector in zip(missing, await self._embedder.embed(missing), strict=True):
                found[name] = np.array(vector)  # a copy: a row would keep its whole batch alive
        for name in unique:
            kept[name] = found[name]
            kept.move_to_end(name)
        while len(kept) > NAME_VECTORS_KEPT:
            kept.popitem(last=False)
        return [found[name] for name in names]

    async def _similar_key(self, scope: Scope, vector: object) -> str | None:
        found = await self._store.similar_entities(scope, vector, 1, self._threshold)  # type: ignore[arg-type]
        return found[0][0].name_key if found else None
