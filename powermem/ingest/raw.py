"""``add(infer=False)``: one memory per stored message, linked to its offline entities and
stating the relations the offline extractor reads in it (``origin: "offline"``).

"I" and "my" in a message stand for its speaker: the message's ``name``, a leading
"Name: ", or for user messages the name a user message of the same add introduces
("I'm Maya"). Without one, first-person facts are not stated.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from powermem import receipts
from powermem.embeddings.base import Embedder
from powermem.filters import now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.ingest.entities import EntityResolver, NamedEntity
from powermem.ingest.messages import Message
from powermem.ingest.nlp import ExtractorChoice, Reader, heuristic_reader, make_reader, read_all
from powermem.stores.base import EntityInput, GraphStore, NewMemory, RelationInput, Scope, WritePlan
from powermem.text.extract import Mentions
from powermem.text.names import normalize_name
from powermem.text.relations import OfflineRelation, self_introduction


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


def speakers(drafts: list[Draft]) -> list[str | None]:
    """Who "I" is in each draft (see the module docstring)."""
    intro = next((n for d in drafts if d.metadata.get("role") == "user" and (n := self_introduction(d.text))), None)
    return [named_speaker(d.metadata) or (intro if d.metadata.get("role") == "user" else None) for d in drafts]


def named_speaker(metadata: dict[str, Any]) -> str | None:
    """The message ``name`` kept in metadata (caller metadata may hold anything under that key)."""
    name = metadata.get("name")
    return name if isinstance(name, str) and name.strip() else None


@dataclass
class Linked:
    """Per text: the entity keys it mentions and the relations it states (resolved keys)."""

    keys: list[tuple[str, ...]]
    entities: list[EntityInput]
    stated: list[list[tuple[str, str, str, str]]]  # (source key, type, destination key, fact)

    def relations(self, ids: SnowflakeGenerator, memory_ids: list[int], said_at: list[str],
                  at: str) -> list[RelationInput]:
        """Offline relations: valid from when their message was said, written ``at``."""
        return [
            RelationInput(ids.next_id(), source, destination, relationship, fact, (memory_id,), valid_at, at,
                          origin="offline")
            for memory_id, valid_at, stated in zip(memory_ids, said_at, self.stated, strict=True)
            for source, relationship, destination, fact in stated
        ]


class RawIngest:
    def __init__(self, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, resolver: EntityResolver,
                 extractor: ExtractorChoice = "auto", relations: bool = True) -> None:
        self._store = store
        self._embedder = embedder
        self._ids = ids
        self._resolver = resolver
        self._relations = relations
        self._choice = extractor
        # "spacy" must fail at construction if the model is missing; "auto" loads it on first use.
        self._reader: Reader | None = {"heuristic": heuristic_reader}.get(extractor)
        if extractor == "spacy":
            self._reader = make_reader("spacy")
        self._loading = threading.Lock()

    def _read(self, texts: list[str], selves: list[str | None]) -> list[tuple[Mentions, list[OfflineRelation]]]:
        if self._reader is None:
            with self._loading:
                if self._reader is None:
                    self._reader = make_reader(self._choice)
        read = read_all(self._reader, texts, selves)
        return read if self._relations else [(mentions, []) for mentions, _ in read]

    async def link_entities(self, texts: list[str], scope: Scope, selves: list[str | None] | None = None) -> Linked:
        """Entity keys each text mentions, the relations it states, and the entities to MERGE."""
        # The extractor is CPU work linear in the text (up to 64 KiB a message): off the event loop.
        with receipts.timed("extract"):
            read = await asyncio.to_thread(self._read, texts, selves or [None] * len(texts))
        weak = {n for m, _ in read for n in m.weak}
        known_weak = await self._resolver.existing_keys(scope, weak) if weak else set()
        named = [m.strong + [n for n in m.weak if normalize_name(n) in known_weak] for m, _ in read]
        ends = [n for _, rels in read for r in rels for n in (r.source, r.destination)]
        resolution = await self._resolver.resolve(
            scope, [NamedEntity(n) for n in [*(n for g in named for n in g), *ends]], fuzzy=False
        )
        resolved = resolution.keys
        keys = [tuple(dict.fromkeys(resolved[k] for n in group if (k := normalize_name(n)) in resolved))
                for group in named]
        stated = [[(resolved[s], r.relationship, resolved[d], f"{r.source} {_words(r.relationship)} {r.destination}")
                   for r in rels if (s := normalize_name(r.source)) in resolved and (d := normalize_name(r.destination))
                   in resolved and resolved[s] != resolved[d]] for _, rels in read]
        return Linked(keys, resolution.entities, stated)

    async def plan(self, drafts: list[Draft], scope: Scope, actor: str | None) -> WritePlan:
        # Ids and time are taken before the first await, so concurrent adds keep call order
        # (conversation neighbours are found in id order).
        ids = [self._ids.next_id() for _ in drafts]
        at = now_timestamp()
        linked = await self.link_entities([d.text for d in drafts], scope, speakers(drafts))
        vectors = await self._embedder.embed([d.text for d in drafts])
        plan = WritePlan(scope=scope, actor=actor, entities=linked.entities, at=at)
        for memory_id, draft, vector, entity_keys in zip(ids, drafts, vectors, linked.keys, strict=True):
            plan.creates.append(NewMemory(memory_id, draft.text, memory_hash(draft.text), vector, scope, draft.metadata,
                                          draft.created_at or at, entity_keys, updated_at=at))
        plan.relations = linked.relations(self._ids, ids, [d.created_at or at for d in drafts], at)
        return plan


def _words(relationship: str) -> str:
    return relationship.lower().replace("_", " ")
