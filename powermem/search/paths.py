"""Multi-hop questions: follow the relations a question names, then find what it asks.

"Where does Maya's manager live?" holds a *role chain* (Maya -> manager) and an *asked* word
(live). The chain is resolved over the tenant's valid relations, one bounded hop per role
((Maya)-[:HAS_MANAGER]->(Daniel Okafor), the same conventions for offline and LLM types); the
entities it reaches become query entities of their own, and the question is searched again
with them in place of the chain ("Where does Daniel Okafor live?"). Relations whose type
matches an asked word (LIVES_IN for "live"), or, when nothing else is asked, the chain's last
hop itself ("Who is Maya's manager?"), *state* the answer: the memories asserting them get
the full evidence of the entity they are about (``powermem.search.graph``).

Everything here is bounded: at most ``MAX_ROLES`` hops, each one store expansion of one hop
capped at ``HOP_NODES`` entities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from powermem.stores.base import EntityRow, GraphStore, RelationRow, Scope
from powermem.text.extract import extract_entities
from powermem.text.names import normalize_name
from powermem.text.relations import RoleChain, follows_role, role_chain, stem, type_stems
from powermem.text.terms import search_terms

MAX_ROLES = 3
HOP_NODES = 50


@dataclass(frozen=True)
class QueryFacts:
    chain: RoleChain | None = None
    asked: frozenset[str] = frozenset()  # stems of the query's words that are neither names nor the chain's roles


def analyse(query: str) -> QueryFacts:
    """CPU work linear in the query (run off the event loop with the rest of the analysis)."""
    chain = role_chain(query)
    mentions = extract_entities(query)
    named = {w for n in [*mentions.strong, *mentions.weak] for w in normalize_name(n).split()}
    skipped = named | set(chain.words if chain else ())
    asked = frozenset(stem(t) for t in search_terms(query) if t not in skipped)
    return QueryFacts(chain, asked)


@dataclass
class Resolved:
    """What a role chain led to: the entities, and the relations of its last hop."""

    anchor: EntityRow
    entities: list[EntityRow] = field(default_factory=list)
    last_hop: set[int] = field(default_factory=set)


async def resolve(store: GraphStore, scope: Scope, chain: RoleChain, named: Sequence[EntityRow]) -> Resolved | None:
    anchor = next((e for e in named if e.name_key == normalize_name(chain.anchor)), None)
    if anchor is None:
        return None
    current = {anchor.id: anchor}
    last_hop: set[int] = set()
    for role in chain.roles[:MAX_ROLES]:
        graph = await store.expand(scope, sorted(current), [], 1, HOP_NODES)
        reached: dict[int, EntityRow] = {}
        last_hop = set()
        for rel in graph.relations:
            target = _holder(rel, role, current)
            if target is not None and target in graph.entities:
                reached[target] = graph.entities[target]
                last_hop.add(rel.id)
        if not reached:
            return None
        current = reached
    return Resolved(anchor, sorted(current.values(), key=lambda e: e.id), last_hop)


def _holder(rel: RelationRow, role: str, possessors: dict[int, EntityRow]) -> int | None:
    direction = follows_role(rel.relationship, role)
    if direction == 1 and rel.source_id in possessors:
        return rel.destination_id
    if direction == -1 and rel.destination_id in possessors:
        return rel.source_id
    return None


def rewritten(query: str, chain: RoleChain, names: Sequence[str]) -> str:
    """The query with the chain ("Maya's manager") replaced by what it resolved to."""
    lower = query.lower()
    start = lower.find(chain.anchor.lower())
    end = start
    for word in chain.words:
        found = lower.find(word, end) if start >= 0 else -1
        if found < 0:
            return f"{query} {' '.join(names)}"
        end = found + len(word)
    return f"{query[:start]}{' and '.join(names)}{query[end:]}"


def stating(relations: Sequence[RelationRow], facts: QueryFacts, resolved: Resolved | None) -> set[int]:
    """Ids of the relations whose asserting memories state what the query asks."""
    found = {r.id for r in relations if facts.asked and type_stems(r.relationship) & facts.asked}
    if not found and resolved is not None:
        found = set(resolved.last_hop)
    return found
