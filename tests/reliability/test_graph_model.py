"""Model-based test of the graph's tenancy (issue 12), through AsyncMemory, on both stores.

A hypothesis ``RuleBasedStateMachine`` drives random raw and inferred adds (a scripted LLM
returning facts, entities and relations, see graph_model.py), content and metadata updates,
deletes, delete_all, search and history over the eight tenants of ``WRITE_SCOPES`` (user-only,
a run inside a user, user+agent, agent-only, run-only, user+agent+run). After every step
each scope of ``CHECK_SCOPES`` must show exactly the memories and valid relations the
plain-Python model predicts, touched memories their history; the store itself (read below
the API) must hold exactly the model's relations with their provenance, and after each
delete_all nothing of the deleted scope.

Default: at least 300 steps per store. ``--run-slow``: at least 5,000.
``POWERMEM_GRAPH_MODEL_EXAMPLES`` overrides the number of examples of either.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from powermem import AsyncMemory
from powermem.stores.base import Scope
from tests.reliability.graph_model import (
    CHECK_SCOPES,
    NAMES,
    PLAIN,
    TENANT_NAMES,
    VERBS,
    WRITE_SCOPES,
    InferSpec,
    Model,
    PlanLLM,
    graph_tenant,
    kwargs,
    loose,
    materialise,
    sections,
)
from tests.reliability.helpers import Tally
from tests.support import graph_scan
from tests.support.openai_server import ScriptedOpenAIServer

T = TypeVar("T")
EXAMPLES_ENV = "POWERMEM_GRAPH_MODEL_EXAMPLES"
NO_SHRINK_ENV = "POWERMEM_FUZZ_NO_SHRINK"  # report the first failing program as it ran
STEPS = 30
DEFAULT = (300, 12)  # (minimum steps, examples of at most STEPS steps)
LONG = (5_000, 200)
# Reading all twelve scopes after every step costs 0.2 s on Neo4j; see Harness.check_all_every.
CHECK_ALL_EVERY = {"embedded": 1, "neo4j": 5}


@dataclass
class Harness:
    """One AsyncMemory on its own event loop, shared by every example of a run."""

    memory: AsyncMemory
    loop: asyncio.AbstractEventLoop
    llm: PlanLLM
    config: dict[str, Any]
    scanner: graph_scan.Scanner
    # Every scope is read after every this many steps (and after each delete_all and at the
    # end of each example); in between, every scope that can see what the step changed.
    check_all_every: int = 1
    steps: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)  # what the inferred adds did
    tenants: set[str] = field(default_factory=set)
    found: list[str] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


async def gather(calls: Iterable[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*calls))


def raw_text(kind: tuple[int, int] | None, n: int) -> str:
    if kind is None or kind[0] == kind[1]:
        return f"raw note {n} about the garden"
    return f"raw note {n} where {NAMES[kind[0]]} met {NAMES[kind[1]]}"


name_pairs = st.one_of(st.none(), st.tuples(st.integers(0, len(NAMES) - 1), st.integers(0, len(NAMES) - 1)))
infer_specs = st.builds(
    InferSpec,
    plain=st.lists(st.integers(0, len(PLAIN) - 1), max_size=2).map(tuple),
    relations=st.lists(st.tuples(st.integers(0, len(NAMES) - 1), st.integers(0, len(NAMES) - 1),
                                 st.sampled_from(sorted(VERBS)),
                                 st.sampled_from(["both", "source", "destination", "none"])),
                       max_size=2).map(tuple),
    forget=st.one_of(st.none(), st.integers(0, len(PLAIN) - 1)),
    contradicts=st.lists(st.tuples(st.integers(0, len(NAMES) - 1), st.integers(0, len(NAMES) - 1),
                                   st.sampled_from(sorted(VERBS))), max_size=2).map(tuple),
    rotate=st.integers(0, 5),
    again=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(["both", "source", "destination", "none"])),
                   max_size=1).map(tuple),
    contradicts_held=st.lists(st.integers(0, 100), max_size=2).map(tuple),
)
call_scopes = st.sampled_from(["owner", "none", "user", "agent", "wrong"])


def call_kwargs(choice: str, owner: Scope) -> dict[str, str]:
    if choice == "owner":
        return {k: v for k, v in (("user_id", owner.user_id), ("agent_id", owner.agent_id)) if v is not None}
    if choice == "user" and owner.user_id is not None:
        return {"user_id": owner.user_id}
    if choice == "agent" and owner.agent_id is not None:
        return {"agent_id": owner.agent_id}
    if choice == "wrong":
        return {"user_id": "user-9"}
    return {}


def machine(h: Harness) -> type[RuleBasedStateMachine]:
    class GraphTenancy(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            h.run(h.memory.reset())
            h.llm.reset()
            self.model = Model()
            self.counter = [0]
            self.touched: set[int] = set()
            self.deleted_scope: Scope | None = None
            self.dirty: set[Scope] = set()  # write scopes the last step changed
            self.all_dirty = True

        # helpers
        def pick(self, index: int, live: bool) -> int | None:
            ids = sorted(m.id for m in self.model.memories.values() if m.live or not live)
            return ids[index % len(ids)] if ids else None

        def note(self, kind: str, scope: Scope | None = None) -> None:
            h.steps[kind] += 1
            if sum(h.steps.values()) % h.check_all_every == 0:
                self.all_dirty = True
            if scope is not None:
                h.tenants.add(TENANT_NAMES[scope])

        # rules
        @rule(scope=st.sampled_from(WRITE_SCOPES),
              messages=st.lists(st.tuples(name_pairs, st.sampled_from(["user", "assistant"])), min_size=1, max_size=2))
        def add_raw(self, scope: Scope, messages: list[tuple[tuple[int, int] | None, str]]) -> None:
            self.note("add_raw", scope)
            sent = []
            for kind, role in messages:
                self.counter[0] += 1
                sent.append({"role": role, "content": raw_text(kind, self.counter[0])})
            self.dirty.add(scope)
            result = h.run(h.memory.add(sent, **kwargs(scope), metadata={"via": "raw"}, infer=False))
            assert [(r["event"], r["memory"]) for r in result["results"]] == [("ADD", m["content"]) for m in sent]
            assert result["relations"] == {"added_entities": [], "deleted_entities": []}
            for record, message in zip(result["results"], sent, strict=True):
                self.model.add(record["id"], message["content"], scope, {"via": "raw", "role": message["role"]})
                self.touched.add(record["id"])

        @rule(scope=st.sampled_from(WRITE_SCOPES), spec=infer_specs)
        def add_inferred(self, scope: Scope, spec: InferSpec) -> None:
            self.note("add_inferred", scope)
            held = sorted({r.triple for r in self.model.relations if r.tenant == graph_tenant(scope)})
            plan = materialise(spec, self.counter, len(self.model.reconcilable(scope)), held)
            expected = self.model.expect(scope, plan)
            self.dirty.add(scope)
            h.llm.prompts.clear()
            if not plan.facts:
                result = h.run(h.memory.add(plan.message(), **kwargs(scope), metadata={"via": "llm"}))
                assert (result["results"], result["relations"]) == ([], {"added_entities": [], "deleted_entities": []})
                return
            result = h.run(h.memory.add(plan.message(), **kwargs(scope), metadata={"via": "llm"}))
            kinds = [k for k, _ in h.llm.prompts]
            assert kinds == (["extract", "reconcile"] if expected.reconciles else ["extract"]), kinds
            if expected.reconciles:
                self.check_prompt(scope, h.llm.prompts[1][1])
            adds = [plan.facts[i] for i, (e, _) in enumerate(expected.events) if e == "ADD"]
            deletes = [t for e, t in expected.events if e == "DELETE" and t is not None]
            got = [(r["event"], r["memory"]) for r in result["results"]]
            want = [("ADD", f) for f in adds] + [("DELETE", self.model.memories[t].text) for t in deletes]
            assert got == want, f"add results {got}, expected {want}"
            created: dict[int, int] = {}
            for record in result["results"]:
                if record["event"] == "ADD":
                    fact = plan.facts.index(record["memory"])
                    assert (record["user_id"], record["agent_id"], record["run_id"]) == (
                        scope.user_id, scope.agent_id, scope.run_id)
                    self.model.add(record["id"], record["memory"], scope, {"via": "llm"})
                    created[fact] = record["id"]
                    self.touched.add(record["id"])
                else:
                    assert record["id"] in deletes
            for target in deletes:
                self.model.delete(target)
                self.touched.add(target)
            written = []
            for triple, facts in expected.written:
                ids = set(created.values()) if facts is None else {created[f] for f in facts if f in created}
                if ids:
                    h.events[self.model.write_relation(graph_tenant(scope), triple, ids)] += 1
                    written.append(triple)
                else:
                    h.events["relation without memory skipped"] += 1
            h.events.update(f"fact {event}" for event, _ in expected.events)
            h.events["relation invalidated"] += len(expected.invalidated)
            for rel in self.model.relations:
                if rel.tenant == graph_tenant(scope) and rel.valid and rel.triple in expected.invalidated:
                    rel.valid = False
            reported = sorted((r["source"], r["relationship"], r["destination"])
                              for r in result["relations"]["added_entities"])
            assert reported == sorted(written), f"added_entities {reported}, written {sorted(written)}"
            deleted = sorted((r["source"], r["relationship"], r["destination"])
                             for r in result["relations"]["deleted_entities"])
            assert deleted == expected.invalidated, f"deleted_entities {deleted}, expected {expected.invalidated}"

        @rule(scope=st.sampled_from(WRITE_SCOPES), spec=infer_specs)
        def add_inferred_more(self, scope: Scope, spec: InferSpec) -> None:
            """Inferred adds are what the graph is made of: twice as likely as other steps."""
            self.add_inferred(scope, spec)

        def check_prompt(self, scope: Scope, prompt: str) -> None:
            """The reconciliation call is shown only the scope's memories and relations."""
            _, memories, relations = sections(prompt)
            visible = {m.text for m in self.model.reconcilable(scope)}
            assert {text for _, text in memories} <= visible, "the prompt shows another tenant's memory"
            mine = set(self.model.visible_relations(scope))
            shown = {(s, r, d) for _, s, r, d in relations}
            assert shown <= mine, f"the prompt shows relations {shown - mine} the scope does not hold"

        @rule(index=st.integers(0, 10_000), live=st.booleans(), choice=call_scopes, kind=name_pairs)
        def update_content(self, index: int, live: bool, choice: str, kind: tuple[int, int] | None) -> None:
            self.note("update_content")
            memory_id = self.pick(index, live)
            if memory_id is None:
                return
            memory = self.model.memories[memory_id]
            call = call_kwargs(choice, memory.scope)
            self.counter[0] += 1
            text = raw_text(kind, self.counter[0])
            result = h.run(h.memory.update(memory_id, content=text, **call))
            self.touched.add(memory_id)
            self.dirty.add(memory.scope)
            if not (memory.live and loose(Scope(call.get("user_id"), call.get("agent_id")), memory.scope)):
                assert result is None
                return
            self.model.update(memory_id, text, None)
            assert result is not None and result["memory"] == text and result["metadata"] == memory.metadata

        @rule(index=st.integers(0, 10_000), live=st.booleans(), choice=call_scopes,
              patch=st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), st.one_of(st.none(), st.integers(0, 9)),
                                    min_size=1, max_size=2))
        def update_metadata(self, index: int, live: bool, choice: str, patch: dict[str, int | None]) -> None:
            self.note("update_metadata")
            memory_id = self.pick(index, live)
            if memory_id is None:
                return
            memory = self.model.memories[memory_id]
            call = call_kwargs(choice, memory.scope)
            result = h.run(h.memory.update(memory_id, metadata=patch, **call))
            self.touched.add(memory_id)
            self.dirty.add(memory.scope)
            if not (memory.live and loose(Scope(call.get("user_id"), call.get("agent_id")), memory.scope)):
                assert result is None
                return
            self.model.update(memory_id, None, patch)
            assert result is not None and result["metadata"] == memory.metadata

        @rule(index=st.integers(0, 10_000), live=st.booleans(), choice=call_scopes)
        def delete(self, index: int, live: bool, choice: str) -> None:
            self.note("delete")
            memory_id = self.pick(index, live)
            if memory_id is None:
                return
            memory = self.model.memories[memory_id]
            call = call_kwargs(choice, memory.scope)
            done = h.run(h.memory.delete(memory_id, **call))
            self.touched.add(memory_id)
            self.dirty.add(memory.scope)
            allowed = memory.live and loose(Scope(call.get("user_id"), call.get("agent_id")), memory.scope)
            assert done is allowed
            if allowed:
                self.model.delete(memory_id)

        @precondition(lambda self: sum(m.live for m in self.model.memories.values()) >= 5)
        @rule(scope=st.sampled_from(CHECK_SCOPES))  # Scope(): delete_all(all=True)
        def delete_all(self, scope: Scope) -> None:
            self.note("delete_all", scope)
            expected = self.model.delete_all(scope)
            result = h.run(h.memory.delete_all(**kwargs(scope), all=scope.empty))
            assert result == {"deleted": expected}
            self.deleted_scope = scope
            self.touched.update(self.model.memories)
            self.all_dirty = True

        @rule(scope=st.sampled_from([s for s in CHECK_SCOPES if not s.empty]), index=st.integers(0, 10_000))
        def search(self, scope: Scope, index: int) -> None:
            self.note("search", scope)
            visible = self.model.visible(scope)
            query = visible[index % len(visible)].text if visible and index % 4 else NAMES[index % len(NAMES)]
            found = h.run(h.memory.search(query, **kwargs(scope), limit=100))
            by_id = {m.id: m for m in visible}
            for record in found["results"]:
                assert record["id"] in by_id, f"search({TENANT_NAMES[scope]}) returned {record['id']} of another scope"
                expected = by_id[record["id"]].record()
                assert {k: record[k] for k in expected} == expected
            if any(m.text == query for m in visible):
                assert query in {r["memory"] for r in found["results"]}, f"search for {query!r} misses it"
            mine = set(self.model.visible_relations(scope))
            shown = {(r["source"], r["relationship"], r["destination"]) for r in found["relations"]}
            assert shown <= mine, f"search({TENANT_NAMES[scope]}) shows relations {shown - mine} it does not hold"

        # what must hold after every step
        @invariant()
        def scopes_see_what_the_model_says(self) -> None:
            if self.all_dirty:
                scopes = list(CHECK_SCOPES)
            else:
                scopes = [s for s in CHECK_SCOPES if any(
                    loose(s, w) or (not s.empty and graph_tenant(s) == graph_tenant(w)) for w in self.dirty)]
            self.dirty.clear()
            self.all_dirty = False
            self.check(scopes)

        def teardown(self) -> None:
            self.check(CHECK_SCOPES)

        def check(self, scopes: Sequence[Scope]) -> None:
            # Reads only, so gathered: Neo4j answers them side by side.
            lists = h.run(gather(h.memory.get_all(**kwargs(scope), limit=1000) for scope in scopes))
            for scope, listed in zip(scopes, lists, strict=True):
                want = {m.id: m.record() for m in self.model.visible(scope)}
                got = {r["id"]: {k: r[k] for k in ("id", "memory", "user_id", "agent_id", "run_id", "metadata")}
                       for r in listed["results"]}
                assert got == want, f"get_all({TENANT_NAMES[scope]}) memories differ: {_diff(got, want)}"
                assert listed["total"] == len(want)
                relations = sorted((r["source"], r["relationship"], r["destination"]) for r in listed["relations"])
                expected = self.model.visible_relations(scope)
                assert relations == expected, f"get_all({TENANT_NAMES[scope]}) relations {relations}, expected {expected}"

        @invariant()
        def touched_memories_have_their_history(self) -> None:
            ids = sorted(self.touched)
            histories = h.run(gather(h.memory.history(memory_id) for memory_id in ids))
            records = h.run(gather(h.memory.get(memory_id) for memory_id in ids))
            for memory_id, history, got in zip(ids, histories, records, strict=True):
                assert [(e["event"], e["old_memory"], e["new_memory"]) for e in history] == self.model.history(memory_id)
                assert (got is not None) is self.model.memories[memory_id].live
            self.touched.clear()

        @invariant()
        def the_store_holds_the_model(self) -> None:
            snapshot = h.scanner.dump(rows=self.deleted_scope is not None)
            problems = graph_scan.integrity(snapshot)
            assert not problems, "\n".join(problems[:10])
            assert set(snapshot.memories) == {m.id for m in self.model.memories.values() if m.live}
            assert snapshot.relation_set() == self.model.relation_set(), _diff(
                dict(snapshot.relation_set()), dict(self.model.relation_set()))
            for memory in self.model.memories.values():
                assert snapshot.history.get(memory.id, []) == memory.events, memory.id
            assert set(snapshot.history) <= set(self.model.memories), "history of a memory never added"
            if self.deleted_scope is not None:
                left = graph_scan.leftovers(snapshot, self.deleted_scope)
                assert not left, f"after delete_all({TENANT_NAMES[self.deleted_scope]}):\n" + "\n".join(left[:10])
                self.deleted_scope = None

    return GraphTenancy


def _diff(got: dict[Any, Any], want: dict[Any, Any]) -> str:
    extra = {k: got[k] for k in got if k not in want or got[k] != want[k]}
    missing = {k: want[k] for k in want if k not in got or got[k] != want[k]}
    return f"store has {extra!r:.600}, model has {missing!r:.600}"


def model_config(memory_config: dict[str, Any], server: ScriptedOpenAIServer) -> dict[str, Any]:
    llm = {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
           "timeout": 5.0, "max_attempts": 2, "retry_initial_wait": 0.01}
    # Every memory of the add's scope is a reconciliation candidate (see graph_model.py).
    ingest = {"reconcile_min_similarity": -1.0, "reconcile_candidates": 50}
    return {**memory_config, "llm": llm, "ingest": ingest}


def run_model(memory_config: dict[str, Any], server: ScriptedOpenAIServer, kind: str, tally: Tally,
              minimum: int, examples: int) -> Harness:
    llm = PlanLLM()
    server.respond_with(llm)
    loop = asyncio.new_event_loop()
    config = model_config(memory_config, server)
    h = Harness(AsyncMemory(config), loop, llm, config, graph_scan.Scanner(config), CHECK_ALL_EVERY[kind])
    try:
        h.run(h.memory.initialize())
        examples = int(os.environ.get(EXAMPLES_ENV) or examples)
        run_state_machine_as_test(machine(h), settings=settings(
            max_examples=examples, stateful_step_count=STEPS, deadline=None, database=None, print_blob=True,
            phases=[Phase.explicit, Phase.generate] if os.environ.get(NO_SHRINK_ENV) else list(Phase),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                   HealthCheck.large_base_example, HealthCheck.data_too_large]))
    finally:
        h.run(h.memory.close())
        h.scanner.close()
        loop.close()
    total = sum(h.steps.values())
    tally.add("cases", f"{kind}/graph-model", total)
    print(f"\n{kind}: {total} steps {dict(h.steps)}, inferred adds did {dict(h.events)}, "
          f"tenants and scopes {sorted(h.tenants)}")
    if not os.environ.get(EXAMPLES_ENV):
        assert total >= minimum, f"only {total} steps ran"
    assert {TENANT_NAMES[s] for s in WRITE_SCOPES} <= h.tenants
    return h


def test_graph_model(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                     tally: Tally) -> None:
    run_model(memory_config, openai_server, store_kind, tally, *DEFAULT)


@pytest.mark.slow
def test_graph_model_long(memory_config: dict[str, Any], store_kind: str, openai_server: ScriptedOpenAIServer,
                          tally: Tally) -> None:
    run_model(memory_config, openai_server, store_kind, tally, *LONG)


def test_names_do_not_resolve_to_each_other() -> None:
    """The model assumes no two names of the pool are merged by entity similarity."""
    import itertools

    from powermem.config import IngestConfig
    from powermem.embeddings.hashing import HashingEmbedder

    vectors = HashingEmbedder(64).embed_sync(list(NAMES))
    threshold = IngestConfig().entity_similarity_threshold
    for i, j in itertools.combinations(range(len(NAMES)), 2):
        assert float(vectors[i] @ vectors[j]) < threshold, (NAMES[i], NAMES[j])

