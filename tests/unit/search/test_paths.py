from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from powermem.search import paths
from powermem.stores.base import EntityRow, RelationRow, Scope, Subgraph
from powermem.text.relations import RoleChain


def entity(eid: int, name: str) -> EntityRow:
    return EntityRow(eid, name, name.lower(), "name")


def relation(rid: int, src: EntityRow, kind: str, dst: EntityRow, memory: int) -> RelationRow:
    return RelationRow(rid, src.name, kind, dst.name, "fact", (memory,), "t", None, src.id, dst.id, origin="offline")


MAYA, DANIEL, PORTO, INES = entity(1, "Maya"), entity(2, "Daniel Okafor"), entity(3, "Porto"), entity(4, "Ines")
RELATIONS = [relation(10, MAYA, "HAS_MANAGER", DANIEL, 100), relation(11, DANIEL, "LIVES_IN", PORTO, 101),
             relation(12, MAYA, "HAS_SISTER", INES, 102), relation(13, INES, "MANAGER_OF", DANIEL, 103)]


class OneHopStore:
    """expand() as the stores do it, for one hop over RELATIONS; counts the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int, int]] = []

    async def expand(self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int,
                     max_nodes: int) -> Subgraph:
        self.calls.append((list(entity_ids), hops, max_nodes))
        touching = [r for r in RELATIONS if r.source_id in entity_ids or r.destination_id in entity_ids]
        everyone = {e.id: e for e in (MAYA, DANIEL, PORTO, INES)}
        ends = {i for r in touching for i in (r.source_id, r.destination_id)}
        return Subgraph(relations=touching, entities={i: everyone[i] for i in ends})


def test_analyse_separates_the_chain_the_names_and_what_is_asked() -> None:
    facts = paths.analyse("Where does Maya's manager live?")
    assert facts.chain == RoleChain("Maya", ("MANAGER",), ("manager",))
    assert facts.asked == {"liv"}
    assert paths.analyse("Where does Daniel Okafor live?") == paths.QueryFacts(None, frozenset({"liv"}))


async def test_a_chain_resolves_hop_by_hop_within_bounds() -> None:
    store = OneHopStore()
    chain = RoleChain("Maya", ("MANAGER",), ("manager",))
    resolved = await paths.resolve(store, Scope(user_id="u"), chain, [MAYA])  # type: ignore[arg-type]
    assert resolved is not None and resolved.anchor == MAYA
    assert resolved.entities == [DANIEL] and resolved.last_hop == {10}
    assert store.calls == [([1], 1, paths.HOP_NODES)]
    # Backward convention: (Ines)-[:MANAGER_OF]->(Daniel) makes Ines Daniel's manager.
    two = RoleChain("Maya", ("MANAGER", "MANAGER"), ("manager", "manager"))
    resolved = await paths.resolve(store, Scope(user_id="u"), two, [MAYA])  # type: ignore[arg-type]
    assert resolved is not None and resolved.entities == [INES] and resolved.last_hop == {13}


async def test_an_unknown_anchor_or_role_resolves_to_nothing() -> None:
    store: Any = OneHopStore()
    assert await paths.resolve(store, Scope(user_id="u"), RoleChain("Zed", ("MANAGER",), ("boss",)), [MAYA]) is None
    assert await paths.resolve(store, Scope(user_id="u"), RoleChain("Maya", ("DOG",), ("dog",)), [MAYA]) is None


def test_rewritten_replaces_the_chain() -> None:
    chain = RoleChain("Maya", ("MANAGER",), ("manager",))
    assert paths.rewritten("Where does Maya's manager live?", chain, ["Daniel Okafor"]) == (
        "Where does Daniel Okafor live?")
    assert paths.rewritten("where does MAYA’s boss live", RoleChain("Maya", ("MANAGER",), ("boss",)),
                           ["A", "B"]) == "where does A and B live"


def test_stating_relations_match_what_is_asked_else_the_last_hop() -> None:
    asked = paths.QueryFacts(None, frozenset({"liv"}))
    assert paths.stating(RELATIONS, asked, None) == {11}
    resolved = paths.Resolved(MAYA, [DANIEL], {10})
    assert paths.stating(RELATIONS, paths.QueryFacts(None, frozenset()), resolved) == {10}
    assert paths.stating(RELATIONS, paths.QueryFacts(None, frozenset()), None) == set()
