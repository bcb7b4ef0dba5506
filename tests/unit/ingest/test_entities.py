"""The entity resolver embeds each distinct name once, however many adds mention it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from powermem.embeddings.base import Vectors
from powermem.embeddings.hashing import HashingEmbedder
from powermem.ids import SnowflakeGenerator
from powermem.ingest import entities
from powermem.ingest.entities import EntityResolver, NamedEntity
from powermem.stores.base import Scope

SCOPE = Scope(user_id="u1")


class _Counting:
    """The hashing embedder, recording each call's texts."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(32)
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return self.inner.embed_sync(texts)


class _NoEntities:
    async def entities_by_key(self, scope: Scope, keys: Sequence[str]) -> list[Any]:
        return []


def _resolver(embedder: _Counting) -> EntityResolver:
    return EntityResolver(_NoEntities(), embedder, SnowflakeGenerator(1), 0.9)  # type: ignore[arg-type]


async def test_each_name_is_embedded_once_across_adds() -> None:
    embedder = _Counting()
    resolver = _resolver(embedder)
    first = await resolver.resolve(SCOPE, [NamedEntity("Maya"), NamedEntity("Porto")], fuzzy=False)
    second = await resolver.resolve(SCOPE, [NamedEntity("Porto"), NamedEntity("Daniel"), NamedEntity("Maya")],
                                    fuzzy=False)
    assert embedder.calls == [["Maya", "Porto"], ["Daniel"]]
    by_key = {e.name_key: e.embedding for e in [*first.entities, *second.entities]}
    for name in ("Maya", "Porto", "Daniel"):  # the vectors a fresh call gives
        assert np.array_equal(by_key[name.lower()], embedder.inner.embed_sync([name])[0])


async def test_the_cache_keeps_the_most_recent_names(monkeypatch: Any) -> None:
    monkeypatch.setattr(entities, "NAME_VECTORS_KEPT", 2)
    embedder = _Counting()
    resolver = _resolver(embedder)
    for name in ("Ana", "Bo", "Ana", "Cy", "Bo"):  # Bo is evicted by Cy: Ana was used after it
        await resolver.resolve(SCOPE, [NamedEntity(name)], fuzzy=False)
    assert embedder.calls == [["Ana"], ["Bo"], ["Cy"], ["Bo"]]
