"""The injection fuzzer: hypothesis programs of API calls full of hostile strings, run
against one store with a model of what it must hold afterwards.

Every generated value (filter keys and values, metadata keys and values, user/agent/run
ids, memory ids, memory text, queries with FTS5/Lucene syntax, and the LLM's facts, entity
names and relation types served by the scripted OpenAI server) comes from ``HOSTILE``
fragments, arbitrary unicode and control characters. For each call the fuzzer predicts from
the documented input rules whether it must succeed or raise ``InvalidInputError``; a call
that raises anything else, or a result that differs from the model, fails the test. After
each example the tenant's memories, metadata and histories must equal the model, a canary
tenant created before the fuzzing must be untouched, and no generated string holding a
quote, backtick, brace or semicolon may appear inside the text of any statement the store
sent (values travel as parameters).

``run_limits_fuzz`` runs, for each of API.md's limits, programs with one call just under, at
and just over it (sizes in bytes, depths, counts, page sizes, offsets, ids); apart from that
one size each such call is valid, so under and at must succeed with the model's answer (the
same on both stores) and over must raise ``InvalidInputError`` naming the limit and change
nothing. The tally counts them per store as ``limits``: ``<store>/<limit>/<under|at|over>``.

What is generated lives in ``programs.py``, the documented input rules in ``input_rules.py``;
this module holds the model and the runner.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from powermem import AsyncMemory, InvalidInputError, LLMError, PowermemError
from powermem.stores.base import Scope
from powermem.text.names import RELATIONSHIP_PATTERN, normalize_name
from tests.reliability.helpers import INT64, Tally, matches, snapshot
from tests.reliability.input_rules import (
    GET_ALL_LIMIT,
    SEARCH_LIMIT,
    clean_text,
    encodable,
    parsed_filter,
    parsed_messages,
    storable,
    text_within,
    valid_id,
    valid_metadata,
)
from tests.reliability.programs import (
    LIMITS,
    POSITIONS,
    AddInfer,
    AddRaw,
    AtLimit,
    Delete,
    DeleteAll,
    Foreign,
    Get,
    GetAll,
    History,
    NastyId,
    Program,
    Search,
    Update,
    limit_program,
    programs,
)
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.recording import injected, record_statements
from tests.support.scripted_llm import ScriptedLLM

# -- the model -------------------------------------------------------------------------------------


@dataclass
class Expected:
    id: int
    memory: str
    user_id: str
    agent_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    events: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    live: bool = True
    created_at: str | None = None

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "memory": self.memory, "hash": hashlib.md5(self.memory.encode()).hexdigest(),
                "user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id,
                "metadata": self.metadata}


def strings_in(value: Any) -> list[str]:
    """Every string inside a generated value (dict keys included)."""
    if isinstance(value, str):
        return [value]
    if is_dataclass(value) and not isinstance(value, type):
        return [s for f in fields(value) for s in strings_in(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(k) + strings_in(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings_in(v)]
    return []


class FuzzLLM(ScriptedLLM):
    """Extraction answers are set per call by the fuzzer; reconciliation ADDs every fact."""

    def __init__(self) -> None:
        super().__init__()
        self.set_extraction({"facts": [], "entities": [], "relations": []})

    def set_extraction(self, answer: dict[str, Any]) -> None:
        self.next_extraction = json.dumps(answer)
        self.next_extraction_text = json.dumps(answer, ensure_ascii=False)

    def __call__(self, body: dict[str, Any]) -> str:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "New facts:" in user:
            return json.dumps(self.reconcile(user))
        return self.next_extraction


def llm_section(server: ScriptedOpenAIServer) -> dict[str, Any]:
    return {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
            "timeout": 5.0, "max_attempts": 2, "retry_initial_wait": 0.01}


CANARY = "canary-tenant"


class Fuzzer:
    """One store reused by every example; each example works in a fresh tenant."""

    def __init__(self, memory: AsyncMemory, llm: FuzzLLM, kind: str, tally: Tally) -> None:
        self.m = memory
        self.llm = llm
        self.kind = kind
        self.tally = tally
        self.counter = 0
        self.canary: dict[str, Any] = {}
        self.failures: list[str] = []
        self.over_limit = False  # the current call is one size past a limit, valid otherwise
        self.accepted: bool | None = None  # whether the last call succeeded

    async def plant_canary(self) -> None:
        self.llm.set_extraction({
            "facts": ["Alice works at Acme", "Bob likes jazz in Berlin"],
            "entities": [{"name": n, "type": "thing"} for n in ("Alice", "Acme", "Bob", "jazz", "Berlin")],
            "relations": [{"source": "Alice", "relationship": "WORKS_AT", "destination": "Acme"},
                          {"source": "Bob", "relationship": "LIKES", "destination": "jazz"}],
        })
        await self.m.add("canary chat", user_id=CANARY, metadata={"k": "canary", "prio": 1})
        await self.m.add("Alice likes jazz", user_id=CANARY, agent_id="agent", infer=False, metadata={"tag": "c"})
        self.canary = await snapshot(self.m, user_id=CANARY)
        assert self.canary["total"] == 3 and len(self.canary["relations"]) == 2

    async def check_canary(self) -> None:
        now = await snapshot(self.m, user_id=CANARY)
        assert now == self.canary, "the canary tenant changed"

    # -- one example ---------------------------------------------------------------------------
    async def run(self, program: Program) -> None:
        self.counter += 1
        # The tenant's own id is hostile but valid (invalid ids are tried by the other calls).
        base = clean_text(program.user).replace("\x00", "").replace("\x1f", "")[:200]
        user = f"{base}#{self.counter}"
        other = f"{program.user}#other{self.counter}"
        model: list[Expected] = []
        async with record_statements(self.m) as recorder:
            for op in program.ops:
                self.tally.add("cases", f"{self.kind}/{type(op).__name__}")
                await self.step(op, user, other, model)
            if program.delete_all is not None:
                self.tally.add("cases", f"{self.kind}/DeleteAll")
                await self.delete_all(program.delete_all, user, model)
            await self.check_tenant(user, model)
            statements = recorder.clear()
        self.tally.add("examples", f"{self.kind}/injection")
        self.tally.add("statements", self.kind, len(statements))
        generated = [*strings_in(program), user, other]
        found = injected(statements, generated)
        self.tally.add("injected", self.kind, len(found))
        assert not found, f"generated values inside statement text: {found[:3]}"
        if self.counter % 10 == 0:
            await self.check_canary()

    async def call(self, valid: bool, coro: Any) -> tuple[bool, Any]:
        """Run an API call; valid input must succeed, invalid input must raise InvalidInputError."""
        self.accepted = None
        try:
            result = await coro
        except InvalidInputError as exc:
            assert not valid, f"valid input rejected: {str(exc)[:300]!r}"
            assert not self.over_limit or "limit" in str(exc), f"the error does not name the limit: {exc!s:.300}"
            self.tally.add("rejected", self.kind)
            self.accepted = False
            return False, exc
        assert valid, f"invalid input accepted: {result!r:.300}"
        self.accepted = True
        return True, result

    async def at_limit(self, op: AtLimit, user: str, other: str, model: list[Expected]) -> None:
        """A call ``op.delta`` from a limit: under and at work, over is refused naming it."""
        self.tally.add("limits", f"{self.kind}/{op.limit}/{POSITIONS[op.delta]}")
        self.over_limit = op.delta > 0
        try:
            await self.step(op.op, user, other, model)
        finally:
            self.over_limit = False
        assert self.accepted is (op.delta <= 0), f"{op.limit} {POSITIONS[op.delta]}: accepted is {self.accepted}"

    async def step(self, op: Any, user: str, other: str, model: list[Expected]) -> None:
        m = self.m
        if isinstance(op, AtLimit):
            await self.at_limit(op, user, other, model)
        elif isinstance(op, AddRaw):
            parsed = parsed_messages(op.messages)
            kept = storable(parsed) if parsed is not None else []
            valid = (parsed is not None and bool(kept) and valid_id(op.agent_id) and valid_id(op.run_id)
                     and valid_metadata(op.metadata))
            ok, result = await self.call(valid, m.add(op.messages, user_id=user, agent_id=op.agent_id,
                                                      run_id=op.run_id, metadata=op.metadata, infer=False))
            if ok:
                assert len(result["results"]) == len(kept)
                for record, (role, content, name) in zip(result["results"], kept, strict=True):
                    meta = {**(op.metadata or {}), "role": role, **({"name": name} if name else {})}
                    expected = Expected(record["id"], content, user, op.agent_id, op.run_id, meta,
                                        [("ADD", None, content)])
                    self._same(record, expected)
                    assert record["event"] == "ADD"
                    model.append(expected)
        elif isinstance(op, AddInfer):
            await self.add_infer(op, user, model)
        elif isinstance(op, Search):
            valid_f, node = parsed_filter(op.filters)
            valid = (valid_f and valid_id(op.agent_id) and encodable(op.query) and text_within(op.query)
                     and 1 <= op.limit <= SEARCH_LIMIT and (op.threshold is None or 0 <= op.threshold <= 1))
            ok, result = await self.call(valid, m.search(op.query, user_id=user, agent_id=op.agent_id,
                                                         filters=op.filters, limit=op.limit, threshold=op.threshold))
            if ok:
                assert len(result["results"]) <= op.limit
                live = {e.id: e for e in model if e.live}
                for record in result["results"]:
                    assert record["id"] in live, f"search returned a memory this tenant does not hold: {record!r:.300}"
                    expected = live[record["id"]]
                    self._same(record, expected)
                    assert op.agent_id is None or record["agent_id"] == op.agent_id
                    assert matches(node, record), f"search result fails the filter {op.filters!r}"
                    assert 0 <= record["score"] <= 1
                    assert op.threshold is None or record["score"] >= op.threshold
                for r in result["relations"]:
                    await self.own_relation(user, (r["source"], r["relationship"], r["destination"]))
        elif isinstance(op, GetAll):
            valid_f, node = parsed_filter(op.filters)
            valid = (valid_f and valid_id(op.agent_id) and valid_id(op.run_id) and 1 <= op.limit <= GET_ALL_LIMIT
                     and 0 <= op.offset <= INT64[1])
            ok, result = await self.call(valid, m.get_all(user_id=user, agent_id=op.agent_id, run_id=op.run_id,
                                                          filters=op.filters, limit=op.limit, offset=op.offset,
                                                          sort_by="id", order=op.order))
            if ok:
                want = [e for e in model if e.live and (op.agent_id is None or e.agent_id == op.agent_id)
                        and (op.run_id is None or e.run_id == op.run_id) and matches(node, e.record())]
                got = result["results"]
                ids = [r["id"] for r in got]
                page = sorted((e.id for e in want), reverse=op.order == "desc")[op.offset:op.offset + op.limit]
                assert ids == page, f"get_all with filters {str(op.filters)[:300]}"
                assert result["total"] == len(want)
                by_id = {e.id: e for e in want}
                for record in got:
                    self._same(record, by_id[record["id"]])
        elif isinstance(op, (Get, Update, Delete, History)):
            await self.by_id(op, model)
        elif isinstance(op, Foreign):
            await self.foreign(op, user, other, model)
        elif isinstance(op, NastyId):
            await self.nasty_id(op)

    async def add_infer(self, op: AddInfer, user: str, model: list[Expected]) -> None:
        parsed = parsed_messages(op.messages)
        valid = (parsed is not None and bool(storable(parsed)) and valid_id(op.agent_id)
                 and valid_metadata(op.metadata))
        if op.garbage:
            self.llm.set_extraction({"facts": [{"x": 1}], "entities": "Alice"})
        else:
            self.llm.set_extraction({
                "facts": op.facts,
                "entities": [{"name": n, "type": t} for n, t in op.entities],
                "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in op.relations],
            })
        # Lone surrogates are not valid JSON text: the client's parser rejects such an answer.
        llm_fault = op.garbage or not encodable(self.llm.next_extraction_text)
        try:
            ok, result = await self.call(valid, self.m.add(op.messages, user_id=user, agent_id=op.agent_id,
                                                           metadata=op.metadata))
        except LLMError:
            assert valid and llm_fault, "LLMError without a fault"
            self.tally.add("faults", f"{self.kind}/fuzz-invalid-llm-output")
            return
        assert not (ok and llm_fault), "invalid LLM output was accepted"
        if not ok:
            return
        facts = list(dict.fromkeys(clean_text(f).strip() for f in op.facts if clean_text(f).strip()))
        results = result["results"]
        assert [r["event"] for r in results] == ["ADD"] * len(facts)
        assert [r["memory"] for r in results] == facts
        for record in results:
            expected = Expected(record["id"], record["memory"], user, op.agent_id, None, dict(op.metadata or {}),
                                [("ADD", None, record["memory"])])
            self._same(record, expected)
            model.append(expected)
        for rel in result["relations"]["added_entities"]:
            assert RELATIONSHIP_PATTERN.fullmatch(rel["relationship"]), rel

    async def by_id(self, op: Any, model: list[Expected]) -> None:
        m = self.m
        if not model:
            return
        target = model[op.ref % len(model)]
        if isinstance(op, Get):
            ok, got = await self.call(True, m.get(target.id))
            if target.live:
                self._same(got, target)
            else:
                assert got is None
        elif isinstance(op, Update):
            valid = (op.content is None or (isinstance(op.content, str) and bool(op.content.strip())
                                            and encodable(op.content) and text_within(op.content)))
            valid = valid and valid_metadata(op.metadata, allow_none=True)
            valid = valid and not (op.content is None and op.metadata is None)
            ok, got = await self.call(valid, m.update(target.id, content=op.content, metadata=op.metadata))
            if not ok:
                return
            if not target.live:
                assert got is None
                return
            old = target.memory
            if op.content is not None:
                target.memory = op.content
            if op.metadata is not None:
                merged = {**target.metadata, **op.metadata}
                target.metadata = {k: v for k, v in merged.items() if v is not None}
            target.events.append(("UPDATE", old, target.memory))
            self._same(got, target)
        elif isinstance(op, Delete):
            _, got = await self.call(True, m.delete(target.id))
            assert got is target.live
            if target.live:
                target.events.append(("DELETE", target.memory, None))
                target.live = False
        else:
            _, got = await self.call(True, m.history(target.id))
            assert [(h["event"], h["old_memory"], h["new_memory"]) for h in got] == target.events
            assert all(h["memory_id"] == target.id for h in got)

    async def foreign(self, op: Foreign, user: str, other: str, model: list[Expected]) -> None:
        m = self.m
        if not model:
            return
        target = model[op.ref % len(model)]
        stranger = f"{op.other}{other}"
        valid = valid_id(stranger)
        if op.method == "get":
            ok, got = await self.call(valid, m.get(target.id, user_id=stranger))
            assert not ok or got is None
        elif op.method == "update":
            ok, got = await self.call(valid, m.update(target.id, content="taken over", user_id=stranger))
            assert not ok or got is None
        elif op.method == "delete":
            ok, got = await self.call(valid, m.delete(target.id, user_id=stranger))
            assert not ok or got is False
        elif op.method == "history":
            ok, got = await self.call(valid, m.history(target.id, user_id=stranger))
            assert not ok or got == []
        else:  # the right user with an agent the memory does not belong to
            agent = op.other if op.other != target.agent_id else op.other + "!"
            ok, got = await self.call(valid_id(agent), m.get(target.id, user_id=user, agent_id=agent))
            assert not ok or got is None

    async def nasty_id(self, op: NastyId) -> None:
        m = self.m
        text = op.memory_id.strip()
        digits = text.lstrip("0")
        valid = text.isdecimal() and text.isascii() and len(digits) <= 19 and 0 < int(digits or "0") < 2**63
        calls = {"get": lambda: m.get(op.memory_id), "update": lambda: m.update(op.memory_id, content="x"),
                 "delete": lambda: m.delete(op.memory_id), "history": lambda: m.history(op.memory_id)}
        ok, got = await self.call(valid, calls[op.method]())
        if ok:  # a random id: nobody's memory (ids are 60-bit snowflakes)
            assert got in (None, False, [])

    async def delete_all(self, op: DeleteAll, user: str, model: list[Expected]) -> None:
        valid = valid_id(op.agent_id) and valid_id(op.run_id)
        ok, got = await self.call(valid, self.m.delete_all(user_id=user, agent_id=op.agent_id, run_id=op.run_id))
        if not ok:
            return
        scoped = [e for e in model if (op.agent_id is None or e.agent_id == op.agent_id)
                  and (op.run_id is None or e.run_id == op.run_id)]
        assert got == {"deleted": sum(e.live for e in scoped)}
        for e in scoped:  # nothing of the scope remains, history included (deleted memories' too)
            e.events.clear()
            e.live = False

    async def check_tenant(self, user: str, model: list[Expected]) -> None:
        now = await snapshot(self.m, user_id=user)
        live = [e for e in model if e.live]
        assert [r["id"] for r in now["memories"]] == sorted(e.id for e in live), "memories lost or left over"
        by_id = {e.id: e for e in live}
        for record in now["memories"]:
            self._same(record, by_id[record["id"]])
        for e in model:
            history = now["history"].get(e.id) if e.live else await self.m.history(e.id)
            assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history or []] == e.events
        for relation in now["relations"]:
            await self.own_relation(user, relation)

    async def own_relation(self, user: str, relation: Any) -> None:
        """A relation shown to ``user`` joins two entities of ``user``'s own graph."""
        source, relationship, destination = relation
        assert RELATIONSHIP_PATTERN.fullmatch(relationship), relation
        store, _, _ = await self.m._ready()
        keys = [normalize_name(source), normalize_name(destination)]
        found = {e.name_key for e in await store.entities_by_key(Scope(user), keys)}
        assert set(keys) <= found, f"relation {relation!r} is not between entities of this tenant"

    @staticmethod
    def _same(record: dict[str, Any], expected: Expected) -> None:
        assert record is not None, f"memory {expected.id} is missing"
        got = {k: record[k] for k in ("id", "memory", "hash", "user_id", "agent_id", "run_id", "metadata")}
        assert got == expected.record()
        if expected.created_at is None:
            expected.created_at = record["created_at"]
        assert record["created_at"] == expected.created_at


@contextmanager
def fuzzing(config: dict[str, Any], server: ScriptedOpenAIServer, kind: str,
            tally: Tally) -> Iterator[tuple[asyncio.AbstractEventLoop, Fuzzer]]:
    """A store with a canary tenant planted, checked again when the fuzzing ends."""
    llm = FuzzLLM()
    server.respond_with(llm)
    loop = asyncio.new_event_loop()
    memory = AsyncMemory({**config, "llm": llm_section(server)})
    try:
        loop.run_until_complete(memory.initialize())
        loop.run_until_complete(memory.reset())
        fuzzer = Fuzzer(memory, llm, kind, tally)
        loop.run_until_complete(fuzzer.plant_canary())
        yield loop, fuzzer
        loop.run_until_complete(fuzzer.check_canary())
    finally:
        loop.run_until_complete(memory.close())
        loop.close()


def _settings(examples: int) -> settings:
    phases = [Phase.explicit, Phase.generate] if os.environ.get("POWERMEM_FUZZ_NO_SHRINK") else list(Phase)
    return settings(max_examples=examples, deadline=None, database=None, print_blob=True, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


def run_fuzz(config: dict[str, Any], server: ScriptedOpenAIServer, kind: str, tally: Tally, examples: int) -> None:
    """Run ``examples`` hypothesis programs against one store (config without an llm section)."""
    with fuzzing(config, server, kind, tally) as (loop, fuzzer):

        @_settings(examples)
        @given(program=programs)
        def example(program: Program) -> None:
            loop.run_until_complete(fuzzer.run(program))

        example()


def run_limits_fuzz(config: dict[str, Any], server: ScriptedOpenAIServer, kind: str, tally: Tally,
                    examples: int) -> None:
    """``examples`` programs for each limit and each of under / at / over it, on one store."""
    with fuzzing(config, server, kind, tally) as (loop, fuzzer):
        for limit in LIMITS:
            for delta in POSITIONS:

                @_settings(examples)
                @given(program=limit_program(limit, delta))
                def example(program: Program) -> None:
                    loop.run_until_complete(fuzzer.run(program))

                example()


__all__ = ["PowermemError", "run_fuzz"]
