"""Every Cypher statement the Neo4j store runs, loaded once from ``cypher/*.cypher``.

Statements are files so that they can be read, reviewed and tried in Neo4j Browser as they
are. A statement may contain ``{{name}}`` slots; only :class:`~.filters.Cypher` fragments
(built from constants and parameter names, never from data) can fill them.

The files are looked up in the installed package first (``powermem/cypher``, where the build
copies them into the wheel) and then in the ``cypher/`` folder of a source checkout.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, LiteralString

from neo4j import AsyncResult

from powermem.stores.neo4j.filters import Cypher

_SLOT = re.compile(r"\{\{([a-z_]+)\}\}")


@dataclass(frozen=True)
class Statement:
    name: str
    text: str

    @property
    def slots(self) -> frozenset[str]:
        return frozenset(_SLOT.findall(self.text))

    def render(self, **fragments: Cypher) -> str:
        """The statement with each slot filled; every slot must be filled, and only slots."""
        if set(fragments) != self.slots:
            raise ValueError(f"{self.name}: expected fragments {sorted(self.slots)}, got {sorted(fragments)}")
        for fragment in fragments.values():
            if not isinstance(fragment, Cypher):
                raise TypeError(f"{self.name}: slot values must be Cypher fragments")
        return _SLOT.sub(lambda match: fragments[match.group(1)].text, self.text)

    @property
    def query(self) -> str:
        """The text of a statement without slots."""
        if self.slots:
            raise ValueError(f"{self.name} has slots {sorted(self.slots)}; use render()")
        return self.text


def cypher_dir() -> Path:
    packaged = resources.files("powermem").joinpath("cypher")
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[3] / "cypher"
    if source.is_dir():
        return source
    raise FileNotFoundError(f"the Cypher statements are missing: neither {packaged} nor {source} exists")


def _load(name: str) -> Statement:
    path = _DIR / (name + ".cypher")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("//")]
    return Statement(name, "\n".join(lines).strip())


_DIR = cypher_dir()

# Schema, in creation order: constraints first (they bring the id indexes), then the rest.
SCHEMA = tuple(
    _load(name)
    for name in (
        "schema_memory_id",
        "schema_entity_id",
        "schema_event_id",
        "schema_entity_key",
        "schema_memory_user",
        "schema_memory_agent",
        "schema_memory_run",
        "schema_memory_tenant",
        "schema_entity_tenant",
        "schema_entity_user",
        "schema_entity_agent",
        "schema_event_memory",
        "schema_memory_fulltext",
        "schema_entity_fulltext",
        "schema_meta_key",
    )
)
SCHEMA_MEMORY_VECTOR = _load("schema_memory_vector")
SCHEMA_ENTITY_VECTOR = _load("schema_entity_vector")
SCHEMA_MEMORY_VECTOR_FILTERED = _load("schema_memory_vector_filtered")
SCHEMA_ENTITY_VECTOR_FILTERED = _load("schema_entity_vector_filtered")
DROP_ENTITY_VECTOR_INDEX = _load("drop_entity_vector_index")
VECTOR_INDEX_DIMS = _load("vector_index_dims")
AWAIT_INDEXES = _load("await_indexes")
SERVER_COMPONENTS = _load("server_components")
RESET = _load("reset")

MERGE_ENTITIES = _load("apply_merge_entities")
CREATE_MEMORIES = _load("apply_create_memories")
LOCK_MEMORIES = _load("apply_lock_memories")
READ_LOCKED = _load("apply_read_locked")
UPDATE_MEMORIES = _load("apply_update_memories")
DELETE_MEMORIES = _load("apply_delete_memories")
DROP_PROVENANCE = _load("apply_drop_provenance")
INVALIDATE_RELATIONS = _load("apply_invalidate_relations")
READ_MEMORIES = _load("apply_read_memories")
LOCK_ENTITIES = _load("apply_lock_entities")
WRITE_RELATIONS = _load("apply_write_relations")
DROP_ORPHAN_ENTITIES = _load("apply_drop_orphan_entities")
DELETE_SCOPE_IDS = _load("delete_scope_ids")
DELETE_MEMORY_EVENTS = _load("delete_memory_events")
DELETE_SCOPE_EVENTS = _load("delete_scope_events")

SCHEMA_VERSION = _load("schema_version")
SET_SCHEMA_VERSION = _load("set_schema_version")
MIGRATE_VERSION = _load("migrate_version")
MIGRATE_LOCK = _load("migrate_lock")
MIGRATE_SET_VERSION = _load("migrate_set_version")
MIGRATE_LEGACY_RELATIONS = _load("migrate_legacy_relations")
MIGRATE_LEGACY_ENTITIES = _load("migrate_legacy_entities")
MIGRATE_MENTIONS = _load("migrate_mentions")
MIGRATE_MEMORIES = _load("migrate_memories")
MIGRATE_SET_PROVENANCE = _load("migrate_set_provenance")
MIGRATE_COPY_ENTITIES = _load("migrate_copy_entities")
MIGRATE_COPY_MENTIONS = _load("migrate_copy_mentions")
MIGRATE_COPY_RELATIONS = _load("migrate_copy_relations")
MIGRATE_DROP_TENANT = _load("migrate_drop_tenant")
MIGRATE_DROP_ORPHANS = _load("migrate_drop_orphans")

GET_MEMORY = _load("get_memory")
GET_MEMORIES = _load("get_memories")
LIST_COUNT = _load("list_count")
LIST_PAGE_ASC = _load("list_page_asc")
LIST_PAGE_DESC = _load("list_page_desc")
HISTORY = _load("history")

VECTOR_EXACT = _load("vector_exact")
VECTOR_ANN = _load("vector_ann")
VECTOR_SEARCH_FILTERED = _load("vector_search_filtered")
FULLTEXT_MEMORIES = _load("fulltext_memories")
ENTITIES_BY_KEY = _load("entities_by_key")
ENTITY_VECTOR_EXACT = _load("entity_vector_exact")
ENTITY_VECTOR_ANN = _load("entity_vector_ann")
ENTITY_SEARCH_FILTERED = _load("entity_search_filtered")

EXPAND_SEEDS = _load("expand_seeds")
EXPAND_HOP = _load("expand_hop")
EXPAND_MENTIONS = _load("expand_mentions")
ADJACENT = _load("adjacent")
RELATIONS_FROM = _load("relations_from")
RELATIONS = _load("relations")
STATS_MEMORIES = _load("stats_memories")
STATS_ENTITIES = _load("stats_entities")

DUMP_ENTITIES = _load("dump_entities")
DUMP_MEMORIES = _load("dump_memories")
DUMP_RELATION_CURSOR = _load("dump_relation_cursor")
DUMP_RELATIONS = _load("dump_relations")
DUMP_EVENTS = _load("dump_events")
RESTORE_ENTITIES = _load("restore_entities")
RESTORE_MEMORIES = _load("restore_memories")
RESTORE_RELATIONS = _load("restore_relations")
RESTORE_EVENTS = _load("restore_events")
RESTORE_COUNTS = _load("restore_counts")

WRITE_GUARD = _load("write_guard")
RECORD_DIMS = _load("record_dims")
DROP_MEMORY_VECTOR_INDEX = _load("drop_memory_vector_index")
REEMBED_STATE = _load("reembed_state")
REEMBED_BEGIN = _load("reembed_begin")
REEMBED_SET_PHASE = _load("reembed_set_phase")
REEMBED_FINISH = _load("reembed_finish")
# kind -> statement, for the two kinds of node a re-embed moves
REEMBED_PENDING = {kind: _load(f"reembed_pending_{kind}") for kind in ("memories", "entities")}
REEMBED_WRITE = {kind: _load(f"reembed_write_{kind}") for kind in ("memories", "entities")}
REEMBED_REMAINING = {kind: _load(f"reembed_remaining_{kind}") for kind in ("memories", "entities")}
REEMBED_SWAP = {kind: _load(f"reembed_swap_{kind}") for kind in ("memories", "entities")}
REEMBED_CLEAR = {kind: _load(f"reembed_clear_{kind}") for kind in ("memories", "entities")}


def as_query(text: str) -> LiteralString:
    # The driver asks for a LiteralString: statement texts are the cypher/ files plus compiled
    # fragments (constants and parameter names), never data. mypy treats both types alike.
    return text


# A read of one statement (the store's auto-commit, retried read), for the modules that
# build their queries outside the store class.
Read = Callable[[str, Mapping[str, Any]], Awaitable[list[dict[str, Any]]]]


async def fetch_rows(result: AsyncResult) -> list[dict[str, Any]]:
    # Statements return maps, lists and scalars, never nodes: a record's values need none of
    # Record.data()'s recursive conversion, which cost ~2 ms of client CPU per hybrid search.
    keys = result.keys()
    return [dict(zip(keys, record, strict=True)) async for record in result]
