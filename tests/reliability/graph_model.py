"""The reference model of the graph tenancy test (test_graph_model.py) and its scripted LLM.

The inferred adds speak a small grammar the model can predict exactly:

- the message is ``PLAN:`` + JSON of the extraction to return (facts, entities, relations)
  plus ``contradicts``, the (source, relationship, destination) triples the reconciliation
  call reports as contradicted when it is shown them;
- facts are of four kinds: a *named* fact naming one relation's two endpoints (``Alder likes
  Birch in note 7``) or one of them (``Alder waved in note 8``), unique by its note number;
  a *plain* fact from a small pool naming no entity (``the tea was cold``), so it repeats;
  and ``forget <plain fact>``;
- the reconciliation answers, per fact: ``forget X`` -> DELETE of the first shown memory
  whose text is X (NONE if none is shown); a fact identical to a shown memory -> NONE;
  anything else -> ADD. The test configures ``reconcile_min_similarity = -1`` and 50
  candidates, so every memory of the add's scope and graph tenant is shown when there are at
  most 50 (the plan leaves ``forget`` out otherwise) and an identical one always is.
- relations of one add have disjoint endpoints, so exactly one fact names each relation's
  endpoints (the ``both``/``source``/``destination`` modes) or none does (``none``): the
  relation is then asserted by every memory the add wrote, and not written when it wrote none.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from powermem.stores.base import Scope

NAMES = ("Alder", "Birch", "Cedar", "Maple", "Rowan")
# 5 names x 4 others x 2 types = 40 triples at most per tenant: the reconciliation context (40
# relations) always holds every valid relation around the entities an add names.
VERBS = {"LIKES": "likes", "KNOWS": "knows"}
PLAIN = ("the tea was cold", "the bus was late", "the sky was grey", "the soup was salty",
         "the film was long", "the door was red")
FORGET = "forget "
MAX_SHOWN = 50

U1, U2, A1, A2, R1, R2 = "user-1", "user-2", "agent-1", "agent-2", "run-1", "run-2"
# Where memories are written: user-only, a run inside a user, user+agent, agent-only (twice,
# one sharing its agent with a user+agent tenant), run-only (one sharing its run id with
# runs inside user tenants) and user+agent+run.
WRITE_SCOPES = (
    Scope(U1), Scope(U1, None, R1), Scope(U1, A1), Scope(None, A2), Scope(None, None, R1),
    Scope(None, None, R2), Scope(U2, A1, R1), Scope(None, A1),
)
# What is read after every step (and deleted by delete_all).
CHECK_SCOPES = (
    Scope(), Scope(U1), Scope(U2), Scope(None, A1), Scope(None, A2), Scope(None, None, R1),
    Scope(None, None, R2), Scope(U1, None, R1), Scope(U1, A1), Scope(None, A1, R1), Scope(U2, A1),
    Scope(U2, A1, R1),
)
TENANT_NAMES = {s: "/".join(f"{k}={v}" for k, v in zip(("user", "agent", "run"), (s.user_id, s.agent_id, s.run_id),
                                                           strict=True) if v) or "all"
                for s in WRITE_SCOPES + CHECK_SCOPES}

Triple = tuple[str, str, str]
Event = tuple[str, str | None, str | None]


def kwargs(scope: Scope) -> dict[str, str]:
    return {k: v for k, v in (("user_id", scope.user_id), ("agent_id", scope.agent_id), ("run_id", scope.run_id))
            if v is not None}


def graph_tenant(scope: Scope) -> str:
    """The contract's graph tenant key (API.md): (user, agent) when either is given, else the run."""
    if scope.user_id is None and scope.agent_id is None:
        return f"\x1f\x1f{scope.run_id or ''}"
    return f"{scope.user_id or ''}\x1f{scope.agent_id or ''}"


def run_narrowed(scope: Scope) -> bool:
    """A run inside a user/agent tenant sees only relations asserted by memories of that run."""
    return scope.run_id is not None and (scope.user_id is not None or scope.agent_id is not None)


def loose(scope: Scope, owner: Scope) -> bool:
    """A memory of ``owner`` is seen by ``scope`` when every field ``scope`` gives matches."""
    return all(w is None or w == o for w, o in ((scope.user_id, owner.user_id), (scope.agent_id, owner.agent_id),
                                                  (scope.run_id, owner.run_id)))


# -- the scripted LLM --------------------------------------------------------------------------

_PLAN = re.compile(r"PLAN:(\{.*\})")
_LINE = re.compile(r"^(\d+): (.*)$")
_RELATION = re.compile(r"^(\d+): (.*) -\[(.*)\]-> (.*)$")


@dataclass
class PlanLLM:
    """Answers the extraction with the message's PLAN and reconciles by the rules above.

    It records every prompt (``prompts``: (kind, user message)) and every relation it was
    shown (``shown``: per reconciliation call, the (source, relationship, destination) lines).
    """

    prompts: list[tuple[str, str]] = field(default_factory=list)
    contradicts: list[Triple] = field(default_factory=list)

    def reset(self) -> None:
        self.prompts.clear()
        self.contradicts = []

    def __call__(self, body: dict[str, Any]) -> str:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "New facts:" in user:
            self.prompts.append(("reconcile", user))
            return json.dumps(self.reconcile(user))
        self.prompts.append(("extract", user))
        found = _PLAN.search(user)
        plan = json.loads(found.group(1)) if found else {}
        self.contradicts = [tuple(t) for t in plan.get("contradicts", [])]  # type: ignore[misc]
        return json.dumps({k: plan.get(k, []) for k in ("facts", "entities", "relations")})

    def reconcile(self, prompt: str) -> dict[str, Any]:
        facts, memories, relations = sections(prompt)
        decisions = []
        for fact_id, fact in facts:
            if fact.startswith(FORGET):
                target = next((i for i, text in memories if text == fact[len(FORGET):]), None)
                event = "DELETE" if target is not None else "NONE"
            else:
                target = None
                event = "NONE" if any(text == fact for _, text in memories) else "ADD"
            decisions.append({"fact": fact_id, "event": event, "target": target, "text": None})
        contradicted = [i for i, s, r, d in relations if (s, r, d) in self.contradicts]
        return {"decisions": decisions, "contradicted_relations": contradicted}


def sections(prompt: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]], list[tuple[int, str, str, str]]]:
    """Facts, memories and relations of a reconciliation prompt, with their small ids."""
    parts = re.split(r"\n\n(?=Existing memories:|Existing relations:)", prompt)
    facts = [(int(m[1]), m[2]) for line in parts[0].splitlines() if (m := _LINE.match(line))]
    memories = [(int(m[1]), m[2]) for line in parts[1].splitlines() if (m := _LINE.match(line))]
    relations = [(int(m[1]), m[2], m[3], m[4]) for line in parts[2].splitlines() if (m := _RELATION.match(line))]
    return facts, memories, relations


# -- what an inferred add says ------------------------------------------------------------------


@dataclass(frozen=True)
class Stated:
    source: str
    relationship: str
    destination: str
    mode: str  # "both", "source", "destination" (which endpoints its fact names) or "none"

    @property
    def triple(self) -> Triple:
        return (self.source, self.relationship, self.destination)


@dataclass(frozen=True)
class InferSpec:
    """What hypothesis draws; ``materialise`` turns it into a message once the state is known."""

    plain: tuple[int, ...]
    relations: tuple[tuple[int, int, str, str], ...]  # (source, destination) name indices, type, mode
    forget: int | None
    contradicts: tuple[tuple[int, int, str], ...]
    rotate: int
    # Relations the tenant already holds (indices into them, whether valid or not, shown to
    # this scope or not), stated again with a mode / contradicted: collisions are the point.
    again: tuple[tuple[int, str], ...] = ()
    contradicts_held: tuple[int, ...] = ()


@dataclass
class Plan:
    facts: list[str]
    named: dict[int, int]  # index in ``stated`` -> index of the fact naming it
    stated: list[Stated]
    contradicts: list[Triple]

    def message(self) -> str:
        entities = list(dict.fromkeys([n for s in self.stated for n in (s.source, s.destination)]
                                      + [n for t in self.contradicts for n in (t[0], t[2])]))
        body = {
            "facts": self.facts,
            "entities": [{"name": n, "type": "tree"} for n in entities],
            "relations": [{"source": s.source, "relationship": s.relationship, "destination": s.destination}
                          for s in self.stated],
            "contradicts": [list(t) for t in self.contradicts],
        }
        return "PLAN:" + json.dumps(body, separators=(",", ":"))


def materialise(spec: InferSpec, counter: list[int], shown: int, held: list[Triple]) -> Plan:
    """The plan of ``spec``; ``counter`` numbers named facts, ``shown`` is how many memories the
    add would show the LLM (``forget`` needs them all shown), ``held`` the relations of the
    add's graph tenant."""
    candidates = [(*held[i % len(held)], mode) for i, mode in spec.again if held]
    candidates += [(NAMES[s], rel, NAMES[d], mode) for s, d, rel, mode in spec.relations]
    stated: list[Stated] = []
    used: set[str] = set()
    for source, rel, destination, mode in candidates:
        if source == destination or source in used or destination in used:
            continue
        used.update((source, destination))
        stated.append(Stated(source, rel, destination, mode))
    facts: list[tuple[str, int | None]] = []
    for index, rel in enumerate(stated):
        counter[0] += 1
        n = counter[0]
        if rel.mode == "both":
            facts.append((f"{rel.source} {VERBS[rel.relationship]} {rel.destination} in note {n}", index))
        elif rel.mode in ("source", "destination"):
            facts.append((f"{getattr(rel, rel.mode)} waved in note {n}", index))
    facts += [(PLAIN[i], None) for i in dict.fromkeys(spec.plain)]
    own = {r.triple for r in stated}
    wrong = [held[i % len(held)] for i in spec.contradicts_held if held]
    wrong += [(NAMES[s], rel, NAMES[d]) for s, d, rel in spec.contradicts if s != d]
    contradicts = list(dict.fromkeys(t for t in wrong if t not in own))
    if spec.forget is not None and not contradicts and shown <= MAX_SHOWN:
        facts.append((FORGET + PLAIN[spec.forget], None))
    if facts:
        k = spec.rotate % len(facts)
        facts = facts[k:] + facts[:k]
    named = {rel: i for i, (_, rel) in enumerate(facts) if rel is not None}
    return Plan([f for f, _ in facts], named, stated, contradicts)


# -- the model ---------------------------------------------------------------------------------


@dataclass
class Mem:
    id: int
    text: str
    scope: Scope
    metadata: dict[str, Any]
    events: list[Event]
    live: bool = True

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "memory": self.text, "user_id": self.scope.user_id, "agent_id": self.scope.agent_id,
                "run_id": self.scope.run_id, "metadata": self.metadata}


@dataclass
class Rel:
    tenant: str
    triple: Triple
    valid: bool
    memory_ids: set[int]


@dataclass
class Expected:
    """What an inferred add must do: per fact its event (and DELETE target), the relations it
    writes and the ones it invalidates."""

    events: list[tuple[str, int | None]]
    written: list[tuple[Triple, set[int] | None]]  # provenance: ids, or None for "all it created"
    invalidated: list[Triple]
    reconciles: bool


class Model:
    def __init__(self) -> None:
        self.memories: dict[int, Mem] = {}
        self.relations: list[Rel] = []

    # reads
    def visible(self, scope: Scope) -> list[Mem]:
        return sorted((m for m in self.memories.values() if m.live and loose(scope, m.scope)), key=lambda m: m.id)

    def reconcilable(self, scope: Scope) -> list[Mem]:
        """The memories an inferred add of ``scope`` shows the LLM: those it sees, of its own
        graph tenant (a user-only add does not reconcile against the user's agents' memories)."""
        return [m for m in self.visible(scope) if graph_tenant(m.scope) == graph_tenant(scope)]

    def shown_relation(self, scope: Scope, rel: Rel) -> bool:
        """Is ``rel`` a relation ``scope`` sees (get_all, search, the reconciliation prompt)?"""
        if scope.empty or rel.tenant != graph_tenant(scope) or not rel.valid:
            return False
        return not run_narrowed(scope) or any(self.memories[i].scope.run_id == scope.run_id for i in rel.memory_ids)

    def visible_relations(self, scope: Scope) -> list[Triple]:
        return sorted(r.triple for r in self.relations if self.shown_relation(scope, r))

    def history(self, memory_id: int) -> list[Event]:
        memory = self.memories.get(memory_id)
        return list(memory.events) if memory else []

    def relation_set(self) -> Counter[tuple[str, str, str, str, bool, tuple[int, ...]]]:
        return Counter((r.tenant, *r.triple, r.valid, tuple(sorted(r.memory_ids))) for r in self.relations)

    # writes
    def add(self, memory_id: int, text: str, scope: Scope, metadata: dict[str, Any]) -> None:
        assert memory_id not in self.memories, f"id {memory_id} returned twice"
        self.memories[memory_id] = Mem(memory_id, text, scope, dict(metadata), [("ADD", None, text)])

    def update(self, memory_id: int, text: str | None, patch: dict[str, Any] | None) -> None:
        memory = self.memories[memory_id]
        old = memory.text
        if text is not None:
            memory.text = text
        for key, value in (patch or {}).items():
            if value is None:
                memory.metadata.pop(key, None)
            else:
                memory.metadata[key] = value
        memory.events.append(("UPDATE", old, memory.text))

    def delete(self, memory_id: int) -> None:
        memory = self.memories[memory_id]
        memory.live = False
        memory.events.append(("DELETE", memory.text, None))
        self._forget_provenance({memory_id})

    def delete_all(self, scope: Scope) -> int:
        gone = {m.id for m in self.memories.values() if m.live and loose(scope, m.scope)}
        for memory in self.memories.values():
            if loose(scope, memory.scope):  # its events go too, deleted earlier or now
                memory.live = False
                memory.events = []
        self._forget_provenance(gone)
        return len(gone)

    def _forget_provenance(self, ids: set[int]) -> None:
        for rel in self.relations:
            rel.memory_ids -= ids
        self.relations = [r for r in self.relations if r.memory_ids]

    def write_relation(self, tenant: str, triple: Triple, ids: set[int]) -> str:
        """Create the relation, or add ``ids`` to the provenance of the valid one; says which."""
        held = next((r for r in self.relations if r.tenant == tenant and r.triple == triple and r.valid), None)
        if held is None:
            self.relations.append(Rel(tenant, triple, True, set(ids)))
            return "relation created"
        held.memory_ids |= ids
        return "relation provenance joined"

    # the inferred add
    def expect(self, scope: Scope, plan: Plan) -> Expected:
        if not plan.facts:
            return Expected([], [], [], False)
        visible = self.reconcilable(scope)
        reconciles = bool(visible)
        events: list[tuple[str, int | None]] = []
        for fact in plan.facts:
            if not reconciles:
                events.append(("ADD", None))
            elif fact.startswith(FORGET):
                targets = [m.id for m in visible if m.text == fact[len(FORGET):]]
                events.append(("DELETE", min(targets)) if targets else ("NONE", None))
            else:
                events.append(("NONE", None) if any(m.text == fact for m in visible) else ("ADD", None))
        written: list[tuple[Triple, set[int] | None]] = []
        for index, stated in enumerate(plan.stated):
            written.append((stated.triple, None if index not in plan.named else {plan.named[index]}))
        invalidated = []
        if reconciles:
            # Only relations from a source of the add's own relations are shown as candidates.
            lane = {s.source for s in plan.stated}
            invalidated = sorted({r.triple for r in self.relations if r.triple in plan.contradicts
                                  and r.triple[0] in lane and self.shown_relation(scope, r)})
        return Expected(events, written, invalidated, reconciles)
