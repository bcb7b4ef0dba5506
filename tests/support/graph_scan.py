"""Store-level scans for the graph tenancy tests: read everything a store holds, below the API.

``dump(memory_config)`` reads the whole store (embedded: every table of the SQLite file with
sqlite3; Neo4j: every node and relationship with the neo4j driver) into a ``StoreDump``:

- ``rows``: every row / node / relationship as (table or label, properties), for
  ``leftovers(dump, scope)``: what still belongs to a scope that ``delete_all`` emptied. A row
  belongs to a scope when its user_id/agent_id/run_id fields match it, or when any of its
  string values is a tenant key (ids joined by U+001F) that matches it, or (one-field scopes)
  when any string value equals the id itself.
- ``relations``: entity-entity relations with their graph tenant, names, validity and
  provenance (the ``relation_memories`` table / the ``memory_ids`` property).
- ``memories``, ``history``, ``entities`` for ``integrity(dump)``: provenance ids exist and
  belong to the relation's tenant, no relation without provenance, no entity with nothing
  linked, no duplicate (tenant, name_key), one valid relation per (tenant, triple).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from powermem.stores.base import Scope


def graph_tenant(scope: Scope) -> str:
    if scope.user_id is None and scope.agent_id is None:
        return f"{SEP}{SEP}{scope.run_id or ''}"
    return f"{scope.user_id or ''}{SEP}{scope.agent_id or ''}"

SEP = "\x1f"
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
Triple = tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class StoredRelation:
    tenant: str
    source: str
    relationship: str
    destination: str
    valid: bool
    memory_ids: tuple[int, ...]

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.source, self.relationship, self.destination)


@dataclass(frozen=True)
class StoredEntity:
    id: int
    tenant: str
    name_key: str
    linked: bool  # mentioned by a memory or an endpoint of a relation


@dataclass
class StoreDump:
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    relations: list[StoredRelation] = field(default_factory=list)
    entities: list[StoredEntity] = field(default_factory=list)
    memories: dict[int, Triple] = field(default_factory=dict)  # id -> (user, agent, run)
    history: dict[int, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    dangling: list[str] = field(default_factory=list)  # links to rows that do not exist

    def relation_set(self) -> Counter[tuple[str, str, str, str, bool, tuple[int, ...]]]:
        return Counter((r.tenant, r.source, r.relationship, r.destination, r.valid, r.memory_ids)
                       for r in self.relations)


def dump(memory_config: dict[str, Any], rows: bool = True) -> StoreDump:
    """One scan of the store; ``rows=False`` skips reading every row (only ``leftovers`` needs them)."""
    with Scanner(memory_config) as scanner:
        return scanner.dump(rows)


class Scanner:
    """Scans one store repeatedly (a Neo4j scanner keeps its driver between scans)."""

    def __init__(self, memory_config: dict[str, Any]) -> None:
        self._store = memory_config["store"]
        self._driver: Any = None
        if self._store["provider"] != "embedded":
            import neo4j

            auth = (self._store.get("username") or "neo4j", self._store.get("password") or "")
            # The scans name properties that an empty store lacks: no warnings for those.
            self._driver = neo4j.GraphDatabase.driver(self._store["uri"], auth=auth, notifications_min_severity="OFF")

    def dump(self, rows: bool = True) -> StoreDump:
        if self._driver is None:
            return dump_embedded(self._store["path"], rows)
        return dump_neo4j(self._driver, self._store.get("database") or None, rows)

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- embedded ----------------------------------------------------------------------------------


def dump_embedded(path: str, rows: bool = True) -> StoreDump:
    out = StoreDump()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] if rows else []
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # table names come from sqlite_master
                out.rows.append((table, {k: row[k] for k in row.keys() if k != "embedding"}))
        for r in conn.execute("SELECT id, user_id, agent_id, run_id FROM memories"):
            out.memories[r["id"]] = (r["user_id"], r["agent_id"], r["run_id"])
        for r in conn.execute("SELECT memory_id, event, old_memory, new_memory FROM history ORDER BY id"):
            out.history.setdefault(r["memory_id"], []).append((r["event"], r["old_memory"], r["new_memory"]))
        provenance: dict[int, list[int]] = {}
        for r in conn.execute("SELECT relation_id, memory_id FROM relation_memories"):
            provenance.setdefault(r["relation_id"], []).append(r["memory_id"])
        relation_ids = set()
        for r in conn.execute(
            "SELECT r.id, r.tenant, s.name AS source, r.relationship, d.name AS destination, r.invalid_at "
            "FROM relations r LEFT JOIN entities s ON s.id = r.source_id LEFT JOIN entities d ON d.id = r.destination_id"
        ):
            relation_ids.add(r["id"])
            if r["source"] is None or r["destination"] is None:
                out.dangling.append(f"relation {r['id']} has a missing endpoint entity")
            out.relations.append(StoredRelation(r["tenant"], r["source"], r["relationship"], r["destination"],
                                                r["invalid_at"] is None, tuple(sorted(provenance.get(r["id"], ())))))
        out.dangling += [f"relation_memories row of missing relation {rid}" for rid in provenance if rid not in relation_ids]
        for r in conn.execute(
            "SELECT e.id, e.tenant, e.name_key, "
            "EXISTS (SELECT 1 FROM mentions m WHERE m.entity_id = e.id) "
            "OR EXISTS (SELECT 1 FROM relations r WHERE r.source_id = e.id OR r.destination_id = e.id) AS linked "
            "FROM entities e"
        ):
            out.entities.append(StoredEntity(r["id"], r["tenant"], r["name_key"], bool(r["linked"])))
        for r in conn.execute(
            "SELECT m.id, m.user_id, m.agent_id, m.run_id, e.tenant FROM mentions x "
            "JOIN memories m ON m.id = x.memory_id JOIN entities e ON e.id = x.entity_id"
        ):
            if graph_tenant(Scope(r[1], r[2], r[3])) != r[4]:
                out.dangling.append(f"memory {r[0]} mentions an entity of tenant {r[4]!r}")
        entity_ids = {e.id for e in out.entities}
        for r in conn.execute("SELECT memory_id, entity_id FROM mentions"):
            if r["memory_id"] not in out.memories or r["entity_id"] not in entity_ids:
                out.dangling.append(f"mention ({r['memory_id']}, {r['entity_id']}) of a missing memory/entity")
    finally:
        conn.close()
    return out


# -- Neo4j -------------------------------------------------------------------------------------


def dump_neo4j(driver: Any, database: str | None, rows: bool = True) -> StoreDump:
    out = StoreDump()

    def query(text: str) -> list[Any]:
        records, _, _ = driver.execute_query(text, {"sep": SEP}, database_=database)
        return list(records)

    if rows:
        for r in query("MATCH (n) RETURN labels(n) AS labels, n {.*, embedding: null} AS props"):
            props = {k: v for k, v in r["props"].items() if k != "embedding"}
            out.rows.append((":".join(sorted(r["labels"])), props))
        for r in query("MATCH ()-[r]->() RETURN type(r) AS type, properties(r) AS props"):
            out.rows.append((r["type"], dict(r["props"])))
    for r in query("MATCH (m:Memory) RETURN m.id AS id, m.user_id AS u, m.agent_id AS a, m.run_id AS r"):
        out.memories[r["id"]] = (r["u"], r["a"], r["r"])
    for r in query("MATCH (h:MemoryEvent) RETURN h.memory_id AS m, h.event AS e, h.old_memory AS o, "
                   "h.new_memory AS n ORDER BY h.id"):
        out.history.setdefault(r["m"], []).append((r["e"], r["o"], r["n"]))
    for r in query("MATCH (a:Entity)-[r]->(b:Entity) RETURN a.tenant AS ta, b.tenant AS tb, a.name AS s, "
                   "type(r) AS t, b.name AS d, r.invalid_at AS inv, r.memory_ids AS ids, r.id AS id"):
        if r["ta"] != r["tb"]:
            out.dangling.append(f"relation {r['id']} joins tenants {r['ta']!r} and {r['tb']!r}")
        out.relations.append(StoredRelation(r["ta"], r["s"], r["t"], r["d"], r["inv"] is None,
                                            tuple(sorted(r["ids"] or ()))))
    for r in query("MATCH (e:Entity) RETURN e.id AS id, e.tenant AS t, e.name_key AS k, "
                   "EXISTS { (e)--() } AS linked"):
        out.entities.append(StoredEntity(r["id"], r["t"], r["k"], bool(r["linked"])))
    for r in query("MATCH (m)-[:MENTIONS]->(e) WHERE NOT m:Memory OR NOT e:Entity OR m.tenant IS NULL "
                   "RETURN count(*) AS n"):
        if r["n"]:
            out.dangling.append(f"{r['n']} MENTIONS links not from a Memory to an Entity")
    for r in query("MATCH (m:Memory)-[:MENTIONS]->(e:Entity) WHERE e.tenant <> "
                   "CASE WHEN m.user_id IS NULL AND m.agent_id IS NULL "
                   "THEN $sep + $sep + coalesce(m.run_id, '') "
                   "ELSE coalesce(m.user_id, '') + $sep + coalesce(m.agent_id, '') END "
                   "RETURN m.id AS m, e.tenant AS t"):
        out.dangling.append(f"memory {r['m']} mentions an entity of tenant {r['t']!r}")
    return out


# -- checks ------------------------------------------------------------------------------------


def _parse_tenant(value: str) -> Triple:
    parts = [p or None for p in value.split(SEP)]
    if len(parts) == 2:  # a user/agent graph tenant
        return (parts[0], parts[1], None)
    parts = [*parts, None, None, None][:3]
    return (parts[0], parts[1], parts[2])


def _matches(owner: Triple, scope: Scope) -> bool:
    wanted = (scope.user_id, scope.agent_id, scope.run_id)
    return any(w is not None for w in wanted) and all(w is None or w == o for w, o in zip(wanted, owner, strict=True))


def owners(props: dict[str, Any]) -> list[Triple]:
    """The (user, agent, run) tenants a row carries: its own fields and every tenant key."""
    found: list[Triple] = []
    if any(f in props for f in SCOPE_FIELDS):
        found.append((props.get("user_id"), props.get("agent_id"), props.get("run_id")))
    for value in props.values():
        if isinstance(value, str) and SEP in value:
            found.append(_parse_tenant(value))
    return found


def leftovers(snapshot: StoreDump, scope: Scope) -> list[str]:
    """Every row/node/relationship that still belongs to ``scope`` (an empty scope: anything
    with a tenant at all)."""
    left: list[str] = []
    given = [v for v in (scope.user_id, scope.agent_id, scope.run_id) if v is not None]
    for table, props in snapshot.rows:
        if scope.empty:
            hit = table not in ("meta", "PowermemMeta") and bool(owners(props) or "memory_id" in props)
        else:
            hit = any(_matches(o, scope) for o in owners(props))
            if not hit and len(given) == 1:
                hit = any(v == given[0] for v in props.values())
        if hit:
            left.append(f"{table}: {_short(props)}")
    return left


def integrity(snapshot: StoreDump) -> list[str]:
    problems = list(snapshot.dangling)
    for rel in snapshot.relations:
        if not rel.memory_ids:
            problems.append(f"relation {rel} has no provenance")
        for memory_id in rel.memory_ids:
            owner = snapshot.memories.get(memory_id)
            if owner is None:
                problems.append(f"relation {rel} names missing memory {memory_id}")
            elif graph_tenant(Scope(*owner)) != rel.tenant:
                problems.append(f"relation {rel} names memory {memory_id} of another tenant {owner}")
    valid = Counter((r.tenant, r.triple) for r in snapshot.relations if r.valid)
    problems += [f"{n} valid relations {key}" for key, n in valid.items() if n > 1]
    keys = Counter((e.tenant, e.name_key) for e in snapshot.entities)
    problems += [f"{n} entities {key}" for key, n in keys.items() if n > 1]
    problems += [f"entity {e} has nothing linked" for e in snapshot.entities if not e.linked]
    return problems


def _short(props: dict[str, Any]) -> str:
    return repr({k: v for k, v in props.items() if not isinstance(v, bytes | list)})[:300]
