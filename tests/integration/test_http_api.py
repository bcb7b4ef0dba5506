"""The HTTP API (``powermem serve``) against a real uvicorn on a loopback port, on both stores.

Every endpoint's happy path and record shapes, API keys and their user binding, the mapping
of errors to statuses, the body limit, /healthz with a store that cannot be reached, and the
mount hook the MCP endpoint uses.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.types import Receive, Scope, Send

from powermem import AsyncMemory, Memory
from powermem.cli.http import Mount, ServerState, create_app
from powermem.config import MemoryConfig
from powermem.search.calibration import RELEVANT
from tests.support.http_server import serving
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

ADMIN, ALICE_KEY = "admin-key-0123", "alice-key-4567"
KEYS = {"api_keys": [{"key": ADMIN}, {"key": ALICE_KEY, "user_ids": ["alice"]}]}
RECORD_KEYS = {"id", "memory", "hash", "user_id", "agent_id", "run_id", "metadata", "created_at", "updated_at"}


def server_config(memory_config: dict[str, Any], llm: ScriptedOpenAIServer | None = None,
                  **server: Any) -> dict[str, Any]:
    config = {**memory_config, "server": {**KEYS, **server}}
    if llm is not None:
        config["llm"] = {"provider": "openai", "base_url": llm.base_url, "api_key": "test", "model": "scripted",
                         "timeout": 5.0, "max_attempts": 2, "retry_initial_wait": 0.01}
    return config


def fresh(config: dict[str, Any]) -> None:
    with Memory(config) as m:
        m.reset()


@pytest.fixture
def script(openai_server: ScriptedOpenAIServer) -> ScriptedLLM:
    llm = ScriptedLLM()
    openai_server.respond_with(llm)
    return llm


@pytest.fixture
def base_url(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer, script: ScriptedLLM) -> Iterator[str]:
    config = server_config(memory_config, openai_server)
    fresh(config)
    with serving(create_app(config)) as url:
        yield url


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": ADMIN}, timeout=30) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    return str(body["error"]["message"])


def add(api: httpx.Client, text: str, **fields: Any) -> dict[str, Any]:
    body = ok(api.post("/v1/memories", json={"messages": text, "infer": False, **fields}))
    (record,) = body["results"]
    return dict(record)


# -- every endpoint ---------------------------------------------------------------------------------


def test_add_returns_records_with_string_ids(api: httpx.Client) -> None:
    body = ok(api.post("/v1/memories", json={"messages": [{"role": "user", "content": "I drink green tea"}],
                                             "user_id": "alice", "metadata": {"source": "chat"}, "infer": False}))
    assert body["relations"] == {"added_entities": [], "deleted_entities": []}
    (record,) = body["results"]
    assert set(record) == RECORD_KEYS | {"event"} and record["event"] == "ADD"
    assert isinstance(record["id"], str) and record["id"].isdecimal() and int(record["id"]) > 2**53
    assert record["memory"] == "I drink green tea" and record["user_id"] == "alice"
    assert record["metadata"] == {"source": "chat", "role": "user"}


def test_search_ranks_with_scores(api: httpx.Client) -> None:
    tea = add(api, "I drink green tea every morning", user_id="alice")
    add(api, "The quarterly report is due Friday", user_id="alice")
    add(api, "I drink green tea too", user_id="bob")
    body = ok(api.post("/v1/memories/search", json={"query": "green tea", "user_id": "alice", "limit": 5}))
    assert body["results"][0]["id"] == tea["id"]
    assert {r["user_id"] for r in body["results"]} == {"alice"}
    first = body["results"][0]
    assert set(first) == RECORD_KEYS | {"score", "scores"} and 0 <= first["score"] <= 1
    filtered = ok(api.post("/v1/memories/search", json={"query": "tea", "user_id": "alice",
                                                        "filters": {"role": {"ne": "user"}}}))
    assert filtered["results"] == []
    assert ok(api.post("/v1/memories/search", json={"query": "  ", "user_id": "alice"})) == \
        {"results": [], "relations": []}


def test_search_threshold_drops_what_is_unrelated(api: httpx.Client) -> None:
    tea = add(api, "I drink green tea every morning", user_id="alice")
    unrelated = {"query": "quantum chromodynamics lecture notes", "user_id": "alice"}
    (only,) = ok(api.post("/v1/memories/search", json=unrelated))["results"]
    assert only["score"] < RELEVANT
    assert ok(api.post("/v1/memories/search", json={**unrelated, "threshold": RELEVANT}))["results"] == []
    kept = ok(api.post("/v1/memories/search", json={"query": "green tea", "user_id": "alice", "threshold": RELEVANT}))
    assert [r["id"] for r in kept["results"]] == [tea["id"]] and kept["results"][0]["score"] >= RELEVANT


def test_get_update_patch_history_delete(api: httpx.Client) -> None:
    record = add(api, "I live in Lisbon", user_id="alice", metadata={"topic": "home"})
    path = f"/v1/memories/{record['id']}"
    got = ok(api.get(path, params={"user_id": "alice"}))
    assert got == {k: v for k, v in record.items() if k != "event"}

    updated = ok(api.put(path, params={"user_id": "alice"}, json={"content": "I live in Porto"}))
    assert updated["memory"] == "I live in Porto" and updated["id"] == record["id"]
    patched = ok(api.patch(path, json={"metadata": {"topic": None, "mood": "happy"}}))
    assert patched["metadata"] == {"role": "user", "mood": "happy"} and patched["memory"] == "I live in Porto"

    history = ok(api.get(f"{path}/history"))
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE"]
    assert history[1]["old_memory"] == "I live in Lisbon" and history[1]["new_memory"] == "I live in Porto"
    assert all(h["memory_id"] == record["id"] and isinstance(h["id"], str) for h in history)

    assert ok(api.delete(path, params={"user_id": "alice"})) == {"id": record["id"], "deleted": True}
    error(api.get(path), 404, "NotFound")
    assert [h["event"] for h in ok(api.get(f"{path}/history"))][-1] == "DELETE"


def test_list_filters_sorts_and_pages(api: httpx.Client) -> None:
    made = [add(api, f"note {n}", user_id="alice", metadata={"n": n}) for n in range(4)]
    add(api, "someone else's note", user_id="bob")
    page = ok(api.get("/v1/memories", params={"user_id": "alice", "limit": 2, "offset": 1, "sort_by": "id",
                                              "order": "asc"}))
    assert page["total"] == 4 and [r["id"] for r in page["results"]] == [made[1]["id"], made[2]["id"]]
    assert page["relations"] == []
    big = ok(api.get("/v1/memories", params={"user_id": "alice", "filters": '{"n": {"gte": 2}}'}))
    assert sorted(r["memory"] for r in big["results"]) == ["note 2", "note 3"] and big["total"] == 2
    assert ok(api.get("/v1/memories"))["total"] == 5  # an unbound key may list every tenant


def test_delete_all_is_scoped(api: httpx.Client) -> None:
    for n in range(3):
        add(api, f"alice {n}", user_id="alice")
    add(api, "bob's", user_id="bob")
    assert ok(api.delete("/v1/memories", params={"user_id": "alice"})) == {"deleted": 3}
    assert ok(api.get("/v1/memories", params={"user_id": "alice"}))["total"] == 0
    assert ok(api.get("/v1/memories", params={"user_id": "bob"}))["total"] == 1
    assert "needs user_id, agent_id or run_id" in error(api.delete("/v1/memories"), 400, "InvalidInputError")
    assert ok(api.get("/v1/memories", params={"user_id": "bob"}))["total"] == 1


def test_graph_of_a_scope(api: httpx.Client, script: ScriptedLLM) -> None:
    script.extractions["I love Paris"] = {
        "facts": ["Alice loves Paris"], "entities": [{"name": "Alice", "type": "person"},
                                                      {"name": "Paris", "type": "city"}],
        "relations": [{"source": "Alice", "relationship": "LOVES", "destination": "Paris", "family": "preference"}]}
    added = ok(api.post("/v1/memories", json={"messages": "I love Paris", "user_id": "alice"}))
    assert added["relations"]["added_entities"] == [{"source": "Alice", "relationship": "LOVES",
                                                     "destination": "Paris"}]
    memory_id = added["results"][0]["id"]
    add(api, "Bob loves Rome", user_id="bob")

    graph = ok(api.get("/v1/graph", params={"user_id": "alice"}))
    assert [m["id"] for m in graph["memories"]] == [memory_id] and graph["truncated"] is False
    names = {e["id"]: e["name"] for e in graph["entities"]}
    assert set(names.values()) == {"Alice", "Paris"} and all(i.isdecimal() for i in names)
    (relation,) = graph["relations"]
    assert (names[relation["source_id"]], relation["relationship"], names[relation["destination_id"]]) == \
        ("Alice", "LOVES", "Paris")
    assert relation["memory_ids"] == [memory_id] and relation["invalid_at"] is None
    assert (relation["origin"], relation["family"]) == ("llm", "preference")
    [listed] = ok(api.get("/v1/memories", params={"user_id": "alice", "include_invalidated": "true"}))["relations"]
    assert (listed["relationship"], listed["family"]) == ("LOVES", "preference")
    assert {(m["memory_id"], names[m["entity_id"]]) for m in graph["mentions"]} == \
        {(memory_id, "Alice"), (memory_id, "Paris")}
    assert ok(api.get("/v1/graph", params={"user_id": "carol"}))["entities"] == []
    assert "required" in error(api.get("/v1/graph"), 400, "InvalidInputError")


def test_offline_relations_over_http(api: httpx.Client) -> None:
    body = ok(api.post("/v1/memories", json={"messages": "Dana works at Initech.", "user_id": "dana", "infer": False}))
    assert body["relations"]["added_entities"] == [{"source": "Dana", "relationship": "WORKS_AT",
                                                    "destination": "Initech"}]
    assert body["usage"]["extract_ms"] > 0
    (relation,) = ok(api.get("/v1/graph", params={"user_id": "dana"}))["relations"]
    assert (relation["relationship"], relation["origin"]) == ("WORKS_AT", "offline")


def test_healthz_and_openapi(api: httpx.Client, base_url: str, store_kind: str) -> None:
    assert ok(httpx.get(f"{base_url}/healthz")) == {"status": "ok", "store": store_kind}  # no key needed
    schema = ok(api.get("/openapi.json"))
    assert {"/v1/memories", "/v1/memories/search", "/v1/memories/{memory_id}", "/v1/memories/{memory_id}/history",
            "/v1/graph", "/healthz"} <= set(schema["paths"])
    assert api.get("/docs").status_code == 200


# -- keys -------------------------------------------------------------------------------------------


def test_keys_are_required_and_checked(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as anon:
        response = anon.get("/v1/memories", params={"user_id": "alice"})
        assert "missing API key" in error(response, 401, "Unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        error(anon.get("/v1/memories", headers={"X-API-Key": "admin-key-0124"}), 401, "Unauthorized")
        error(anon.get("/v1/memories", headers={"Authorization": "Bearer admin-key-012"}), 401, "Unauthorized")
        error(anon.post("/v1/memories/search", json={"query": "x"}, headers={"Authorization": "Basic " + ADMIN}),
              401, "Unauthorized")
        ok(anon.get("/v1/memories", headers={"Authorization": f"Bearer {ADMIN}"}))
        ok(anon.get("/v1/memories", headers={"authorization": f"bearer {ADMIN}"}))


def test_a_bound_key_acts_only_for_its_users(api: httpx.Client, base_url: str) -> None:
    bob = add(api, "bob's secret", user_id="bob")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ALICE_KEY}"}) as alice:
        mine = add(alice, "alice's note", user_id="alice")
        assert ok(alice.post("/v1/memories/search", json={"query": "note", "user_id": "alice"}))["results"]
        assert ok(alice.get(f"/v1/memories/{mine['id']}", params={"user_id": "alice"}))["id"] == mine["id"]
        assert ok(alice.get("/v1/memories", params={"user_id": "alice"}))["total"] == 1

        refused = [
            alice.post("/v1/memories", json={"messages": "x", "user_id": "bob", "infer": False}),
            alice.post("/v1/memories", json={"messages": "x", "agent_id": "bot", "infer": False}),
            alice.post("/v1/memories/search", json={"query": "secret"}),
            alice.post("/v1/memories/search", json={"query": "secret", "user_id": "bob"}),
            alice.get("/v1/memories"),
            alice.get("/v1/memories", params={"agent_id": "bot"}),
            alice.get(f"/v1/memories/{bob['id']}"),
            alice.get(f"/v1/memories/{bob['id']}", params={"user_id": "bob"}),
            alice.put(f"/v1/memories/{bob['id']}", json={"content": "mine now"}),
            alice.delete(f"/v1/memories/{bob['id']}"),
            alice.get(f"/v1/memories/{bob['id']}/history"),
            alice.delete("/v1/memories", params={"user_id": "bob"}),
            alice.get("/v1/graph", params={"user_id": "bob"}),
        ]
        for response in refused:
            error(response, 403, "Forbidden")
        # Scoped to alice, bob's memory is simply not there.
        error(alice.get(f"/v1/memories/{bob['id']}", params={"user_id": "alice"}), 404, "NotFound")
    assert ok(api.get(f"/v1/memories/{bob['id']}"))["memory"] == "bob's secret"
    assert ok(api.get("/v1/memories"))["total"] == 2


# -- errors -----------------------------------------------------------------------------------------


def test_bad_input_is_400(api: httpx.Client) -> None:
    kind = "InvalidFilterError"
    assert "filters" in error(api.get("/v1/memories", params={"filters": "{not json"}), 400, kind)
    error(api.get("/v1/memories", params={"filters": "[1]"}), 400, kind)
    error(api.post("/v1/memories/search", json={"query": "x", "filters": {"bad key!": 1}}), 400, kind)
    error(api.post("/v1/memories/search", json={"query": "x", "filters": {"n": {"near": 1}}}), 400, kind)
    assert "1,000" in error(api.post("/v1/memories/search", json={"query": "x", "limit": 5000}), 400,
                            "InvalidInputError")
    error(api.get("/v1/memories", params={"sort_by": "color"}), 400, "InvalidInputError")
    error(api.post("/v1/memories", json={"messages": "no scope", "infer": False}), 400, "InvalidInputError")
    error(api.get("/v1/memories/not-a-number"), 400, "InvalidInputError")
    error(api.put("/v1/memories/12", json={}), 400, "InvalidInputError")


def test_missing_memories_are_404(api: httpx.Client) -> None:
    alice = add(api, "alice's", user_id="alice")
    for response in (api.get("/v1/memories/12345"), api.put("/v1/memories/12345", json={"content": "x"}),
                     api.delete("/v1/memories/12345"), api.get("/v1/memories/12345/history"),
                     api.get(f"/v1/memories/{alice['id']}", params={"user_id": "bob"}),
                     api.delete(f"/v1/memories/{alice['id']}", params={"user_id": "bob"})):
        error(response, 404, "NotFound")
    error(api.get("/v2/nothing"), 404, "NotFound")
    assert ok(api.get(f"/v1/memories/{alice['id']}"))["memory"] == "alice's"


def test_bodies_of_the_wrong_shape_are_422(api: httpx.Client) -> None:
    assert "messages" in error(api.post("/v1/memories", json={"user_id": "alice"}), 422, "RequestValidationError")
    error(api.post("/v1/memories", json={"messages": 5, "user_id": "alice"}), 422, "RequestValidationError")
    assert "user_ld" in error(api.post("/v1/memories", json={"messages": "x", "user_ld": "alice"}), 422,
                              "RequestValidationError")
    error(api.post("/v1/memories/search", json={"query": "x", "limit": "many"}), 422, "RequestValidationError")
    error(api.post("/v1/memories/search", content=b"{not json", headers={"content-type": "application/json"}),
          422, "RequestValidationError")
    error(api.get("/v1/memories", params={"limit": "ten"}), 422, "RequestValidationError")
    assert len(error(api.post("/v1/memories", json={"messages": "x", "k" * 100_000: 1}), 422,
                     "RequestValidationError")) < 1000  # the client's field name is not echoed whole
    assert ok(api.get("/v1/memories"))["total"] == 0


def test_bodies_over_the_limit_are_413(memory_config: dict[str, Any]) -> None:
    config = server_config(memory_config, max_body_bytes=4096)
    fresh(config)
    text = "x" * 5000
    with serving(create_app(config)) as url, httpx.Client(base_url=url, headers={"X-API-Key": ADMIN}) as api:
        assert "4,096" in error(api.post("/v1/memories", json={"messages": text, "user_id": "alice"}), 413,
                                "PayloadTooLarge")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"messages": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'", "user_id": "alice", "infer": false}'

        error(api.post("/v1/memories", content=chunks(), headers={"content-type": "application/json"}), 413,
              "PayloadTooLarge")
        # The connection survives: the next request on it is served.
        add(api, "y" * 3000, user_id="alice")
        assert ok(api.get("/v1/memories", params={"user_id": "alice"}))["total"] == 1


def unreachable_configs(tmp_path: Path) -> Iterator[dict[str, Any]]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    yield {"provider": "embedded", "path": str(blocker / "powermem.db")}
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield {"provider": "neo4j", "uri": f"bolt://127.0.0.1:{port}", "password": "x", "connection_timeout": 2}


@pytest.mark.parametrize("which", ["embedded", "neo4j"])
def test_healthz_is_503_when_the_store_is_unreachable(tmp_path: Path, which: str) -> None:
    store = next(s for s in unreachable_configs(tmp_path) if s["provider"] == which)
    config = {"store": store, "embedding": {"provider": "hashing", "dims": 64}}
    with serving(create_app(config)) as url:
        response = httpx.get(f"{url}/healthz", timeout=30)
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "unavailable" and response.json()["error"]["type"] == "StoreError"
        error(httpx.get(f"{url}/v1/memories", timeout=30), 503, "StoreError")


# -- the mount hook ---------------------------------------------------------------------------------


def test_a_mounted_app_shares_the_memory_and_runs_in_the_lifespan(memory_config: dict[str, Any]) -> None:
    fresh(server_config(memory_config))
    state = ServerState(AsyncMemory(memory_config))
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        events.append(f"start, memory open: {state.memory._store is not None}")
        yield
        events.append(f"stop, memory open: {state.memory._store is not None}")

    async def extra(scope: Scope, receive: Receive, send: Send) -> None:
        found = await state.memory.get_all(user_id="alice")
        body = str(found["total"]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    app = create_app(MemoryConfig.from_any(server_config(memory_config)), state=state,
                     mounts=[Mount("/extra", extra, lifespan)])
    assert app.state.powermem is state
    with serving(app) as url, httpx.Client(base_url=url) as client:
        ok(client.post("/v1/memories", json={"messages": "seen by both", "user_id": "alice", "infer": False},
                       headers={"X-API-Key": ADMIN}))
        assert client.get("/extra/", headers={"X-API-Key": ADMIN}).text == "1"
        bare = client.post("/extra", headers={"X-API-Key": ADMIN})  # served, not redirected
        assert (bare.status_code, bare.text) == (200, "1")
        error(client.get("/extra/"), 401, "Unauthorized")
        error(client.get("/extra/", headers={"X-API-Key": ALICE_KEY}), 403, "Forbidden")
    assert events == ["start, memory open: True", "stop, memory open: True"]
    assert state.memory._store is None  # closed on shutdown


def test_event_time_and_as_of(api: httpx.Client) -> None:
    old = add(api, "I lived in Lisbon", user_id="alice", timestamp="2021-01-10T09:00:00Z")
    assert old["created_at"] == "2021-01-10T09:00:00.000000+00:00"
    new = add(api, "I live in Porto", user_id="alice", timestamp=1672531200)
    assert new["created_at"] == "2023-01-01T00:00:00.000000+00:00"
    found = ok(api.post("/v1/memories/search", json={"query": "Lisbon Porto", "user_id": "alice",
                                                     "as_of": "2022-01-01"}))
    assert [r["memory"] for r in found["results"]] == ["I lived in Lisbon"]
    page = ok(api.get("/v1/memories", params={"user_id": "alice", "as_of": "2022-01-01",
                                              "include_invalidated": "true"}))
    assert [r["memory"] for r in page["results"]] == ["I lived in Lisbon"] and page["total"] == 1
    message = error(api.post("/v1/memories", json={"messages": "x", "user_id": "alice", "timestamp": "soon"}), 400,
                    "InvalidInputError")
    assert "timestamp must be a datetime, an ISO-8601 string" in message
    error(api.get("/v1/memories", params={"user_id": "alice", "as_of": "soon"}), 400, "InvalidInputError")
