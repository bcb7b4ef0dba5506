"""OpenTelemetry spans: their tree for an add, attributes without content, and no otel at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from powermem import AsyncMemory
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

SECRET_KEY = "sk-test-secret-4242"
MESSAGE = "Quentin adores zanzibarian marmalade"
FACT = "quentin adores zanzibarian marmalade"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An SDK with an in-memory exporter as the global tracer provider, for this test only."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


def config(tmp_path: Path, server: ScriptedOpenAIServer) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(tmp_path / "t.db")},
            "embedding": {"provider": "hashing", "dims": 64},
            "llm": {"provider": "openai", "base_url": server.base_url, "api_key": SECRET_KEY, "model": "scripted-model",
                    "timeout": 2.0, "retry_initial_wait": 0.01},
            "ingest": {"reconcile_min_similarity": 0.5}}


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def ancestors(span: ReadableSpan, index: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in index:
        span = index[span.parent.span_id]
        names.append(span.name)
    return names


async def test_an_inferred_add_is_one_span_tree(tmp_path: Path, openai_server: ScriptedOpenAIServer,
                                                spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture) -> None:
    extraction = {"facts": [FACT], "entities": [{"name": "Quentin", "type": "person"}], "relations": []}
    openai_server.respond_with(ScriptedLLM({"zanzibarian": extraction}))
    async with AsyncMemory(config(tmp_path, openai_server)) as m:
        spans.clear()  # initialisation (schema) spans are not part of the add
        result = await m.add(MESSAGE, user_id="quentin", metadata={"topic": "jam"})
        finished = spans.get_finished_spans()  # before close() adds its own
    [add] = by_name(finished, "powermem.add")
    [llm] = by_name(finished, "powermem.llm")
    assert add.parent is None
    index = {s.context.span_id: s for s in finished}
    for span in finished:
        if span is not add:
            assert ancestors(span, index)[-1] == "powermem.add", span.name
            assert span.context.trace_id == add.context.trace_id
    names = {s.name for s in finished}
    assert {"powermem.embed", "powermem.store.apply", "powermem.store.vector_search"} <= names
    usage = result["usage"]
    assert dict(llm.attributes or {}) == {
        "gen_ai.request.model": "scripted-model", "powermem.llm.schema": "Extraction", "powermem.llm.calls": 1,
        "gen_ai.usage.input_tokens": usage["prompt_tokens"], "gen_ai.usage.output_tokens": usage["completion_tokens"],
    }
    [apply] = by_name(finished, "powermem.store.apply")
    assert apply.attributes is not None and apply.attributes["powermem.plan.creates"] == 1
    assert add.attributes is not None and add.attributes["powermem.results"] == 1
    assert_no_content(finished)
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


async def test_search_spans_and_no_content(tmp_path: Path, openai_server: ScriptedOpenAIServer,
                                           spans: InMemorySpanExporter) -> None:
    async with AsyncMemory(config(tmp_path, openai_server)) as m:
        await m.add(MESSAGE, user_id="quentin", infer=False)
        spans.clear()
        found = await m.search("zanzibarian marmalade", user_id="quentin", filters={"role": "user"})
        finished = spans.get_finished_spans()
    [search] = by_name(finished, "powermem.search")
    assert search.parent is None and search.attributes is not None
    assert search.attributes["powermem.results"] == len(found["results"]) == 1
    assert by_name(finished, "powermem.embed") and any(s.name.startswith("powermem.store.") for s in finished)
    assert all(s.context.trace_id == search.context.trace_id for s in finished)
    assert_no_content(finished)


def assert_no_content(finished: tuple[ReadableSpan, ...]) -> None:
    for span in finished:
        for key, value in (span.attributes or {}).items():
            text = str(value).lower()
            for secret in ("zanzibarian", "marmalade", "quentin", "jam", SECRET_KEY.lower()):
                assert secret not in text, (span.name, key, value)


def test_powermem_works_when_opentelemetry_cannot_be_imported(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ImportError("blocked for this test: " + name)
                return None

        sys.meta_path.insert(0, Block())
        from powermem import AsyncMemory, tracing

        async def main():
            config = {{"store": {{"provider": "embedded", "path": {str(tmp_path / "n.db")!r}}},
                      "embedding": {{"provider": "hashing", "dims": 64}}}}
            async with AsyncMemory(config) as m:
                added = await m.add("Ines grows tomatoes", user_id="ines", infer=False)
                found = await m.search("tomatoes", user_id="ines")
            assert "opentelemetry" not in sys.modules
            print(tracing.ENABLED, added["usage"]["store_ms"] > 0, found["results"][0]["memory"])

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "False True Ines grows tomatoes"
