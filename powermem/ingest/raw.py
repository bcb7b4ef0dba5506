"""``add(infer=False)``: one memory per stored message, linked to its offline entities."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from powermem.embeddings.base import Embedder
from powermem.filters import now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.ingest.entities import EntityResolver, NamedEntity
from powermem.ingest.messages import Message
from powermem.stores.base import EntityInput, GraphStore, NewMemory, Scope, WritePlan
from powermem.text.extract import extract_entities
from powermem.text.names import normalize_name


def memory_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - a content fingerprint, as mem0 uses


@dataclass(frozen=True)
class Draft:
    text: str
    metadata: dict[str, Any]
    created_at: str | None = None  # its event time, when the caller gave one


def drafts_from_messages(messages: list[Message], metadata: dict[str, Any]) -> list[Draft]:
    drafts = []
    for message in messages:
        extra: dict[str, Any] = {"role": message.role}
        if message.name:
            extra["name"] = message.name
        drafts.append(Draft(message.content, {**metadata, **extra}, message.timestamp))
    return drafts


class RawIngest:
    def __init__(self, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, resolver: EntityResolver):
        self._store = store
        self._embedder = embedder
        self._ids = ids
        self._resolver = resolver

    async def link_entities(
        self, texts: list[str], scope: Scope
    ) -> tuple[list[tuple[str, ...]], list[EntityInput]]:
        """Entity keys each text mentions, and the entities the write must create."""
        # The extractor is CPU work linear in the text (up to 64 KiB a message): off the event loop.
        mentions = await asyncio.to_thread(lambda: [extract_entities(t) for t in texts])
        weak = {n for m in mentions for n in m.weak}
        known_weak = await self._resolver.existing_keys(scope, weak) if weak else set()
        named = [m.strong + [n for n in m.weak if normalize_name(n) in known_weak] for m in mentions]
        resolution = await self._resolver.resolve(scope, [NamedEntity(n) for g in named for n in g], fuzzy=False)
        keys = [
            tuple(dict.fromkeys(resolution.keys[k] for n in group if (k := normalize_name(n)) in resolution.keys))
            for group in named
        ]
        return keys, resolution.entities

    async def plan(self, drafts: list[Draft], scope: Scope, actor: str | None) -> WritePlan:
        # Ids and time are taken before the first await, so concurrent adds keep call order
        # (conversation neighbours are found in id order).
        ids = [self._ids.next_id() for _ in drafts]
        at = now_timestamp()
        keys, entities = await self.link_entities([d.text for d in drafts], scope)
        vectors = await self._embedder.embed([d.text for d in drafts])
        plan = WritePlan(scope=scope, actor=actor, entities=entities, at=at)
        for memory_id, draft, vector, entity_keys in zip(ids, drafts, vectors, keys, strict=True):
            plan.creates.append(NewMemory(memory_id, draft.text, memory_hash(draft.text), vector, scope, draft.metadata,
                                          draft.created_at or at, entity_keys, updated_at=at))
        return plan
