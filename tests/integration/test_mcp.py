"""``powermem mcp`` driven by the official ``mcp`` client over stdio and streamable HTTP, on both stores.

One server per store and transport serves the whole module (``served``); each test works in
its own user scope, so tests neither see nor clean up after one another. The spawned server
reads its store and models from a ``--config`` JSON file (hashing embedder; the scripted
OpenAI-compatible server as its LLM, so ``add_memory`` with ``infer`` writes relations).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult

from powermem.search.calibration import RELEVANT
from tests.support.mcp_client import HttpServer, McpClient, http_session, mcp_command, server_env, stdio_client_thread
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

TOOLS = {"add_memory", "search_memories", "get_memory", "update_memory", "delete_memory", "delete_all_memories",
         "list_memories", "memory_history", "related_entities"}

SCRIPT = ScriptedLLM(extractions={
    "Berlin": {
        "facts": ["alice lives in Berlin", "alice works at Acme", "alice knows bob"],
        "entities": [{"name": "alice", "type": "person"}, {"name": "Berlin", "type": "place"},
                     {"name": "Acme", "type": "organization"}, {"name": "bob", "type": "person"}],
        "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Berlin"},
                      {"source": "alice", "relationship": "WORKS_AT", "destination": "Acme", "family": "employment"},
                      {"source": "alice", "relationship": "KNOWS", "destination": "bob"}]},
})


@dataclass
class Served:
    client: McpClient
    default_user: str
    users: list[str] = field(default_factory=list)

    def user(self) -> str:
        user = f"mcp-{uuid.uuid4().hex[:10]}"
        self.users.append(user)
        return user

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        result = self.client.call(name, arguments)
        assert not result.is_error, f"{name}({arguments}): {text(result)}"
        # What the model reads and what the application reads are the same value.
        assert json.loads(text(result)) == result.structured_content
        assert "\n" not in text(result)  # compact
        return result.structured_content

    def error(self, name: str, arguments: dict[str, Any]) -> str:
        result = self.client.call(name, arguments)
        assert result.is_error, f"{name}({arguments}) succeeded: {text(result)}"
        return text(result)


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert block.type == "text"
    return block.text


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as server:
        server.respond_with(SCRIPT)
        yield server


def _store(kind: str, folder: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "embedded":
        return {"provider": "embedded", "path": str(folder / "powermem.db")}
    return {"provider": "neo4j", **request.getfixturevalue("neo4j_store_config")}


@pytest.fixture(scope="module", params=[
    pytest.param(("embedded", "stdio"), id="embedded-stdio"),
    pytest.param(("embedded", "http"), id="embedded-http"),
    pytest.param(("neo4j", "stdio"), id="neo4j-stdio", marks=pytest.mark.neo4j),
    pytest.param(("neo4j", "http"), id="neo4j-http", marks=pytest.mark.neo4j),
])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           llm: ScriptedOpenAIServer) -> Iterator[Served]:
    kind, transport = request.param
    folder = tmp_path_factory.mktemp(f"mcp-{kind}-{transport}")
    config = folder / "config.json"
    config.write_text(json.dumps({
        "store": _store(kind, folder, request), "embedding": {"provider": "hashing", "dims": 64},
        "llm": {"provider": "openai", "base_url": llm.base_url, "api_key": "test", "model": "scripted"},
        "ingest": {"reconcile_min_similarity": 0.5},
    }))
    default_user = f"mcp-default-{uuid.uuid4().hex[:8]}"
    command = mcp_command(config, "--user-id", default_user)
    if transport == "stdio":
        with stdio_client_thread(command, server_env(), folder / "stderr.log") as client:
            served = Served(client, default_user)
            yield served
            _clean(served)
        return
    server = HttpServer(command, server_env())
    try:
        with McpClient(lambda: http_session(server.url)) as client:
            served = Served(client, default_user)
            yield served
            _clean(served)
    finally:
        status = server.stop()
    assert status == 0, "".join(server.stderr)  # SIGTERM: uvicorn stops, the store is closed, exit 0


def _clean(served: Served) -> None:
    for user in [served.default_user, *served.users]:
        served.ok("delete_all_memories", {"user_id": user})


# -- the tool list ------------------------------------------------------------------------------


def test_lists_the_nine_tools_with_schemas_for_a_model(served: Served) -> None:
    tools = {t.name: t for t in served.client.run(lambda s: s.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 60, tool.name
        assert tool.input_schema["type"] == "object" and tool.output_schema, tool.name
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    assert tools["memory_history"].input_schema["properties"]["memory_id"]["type"] == "string"
    assert "explicit" in (tools["delete_all_memories"].description or "")
    assert tools["search_memories"].annotations and tools["search_memories"].annotations.read_only_hint
    assert tools["delete_all_memories"].annotations and tools["delete_all_memories"].annotations.destructive_hint


# -- happy paths --------------------------------------------------------------------------------


def test_add_search_get_list_in_the_default_scope(served: Served) -> None:
    added = served.ok("add_memory", {"content": "Prefers window seats on long flights", "infer": False,
                                     "metadata": {"category": "travel"}})
    record = added["results"][0]
    assert record["event"] == "ADD" and record["user_id"] == served.default_user
    assert isinstance(record["id"], str) and record["id"].isdigit()
    assert record["metadata"]["category"] == "travel"
    found = served.ok("search_memories", {"query": "window seats", "limit": 5})
    assert found["results"][0]["id"] == record["id"] and 0 < found["results"][0]["score"] <= 1
    filtered = served.ok("search_memories", {"query": "window seats", "filters": {"category": "food"}})
    assert filtered["results"] == []
    unrelated = {"query": "quantum chromodynamics lecture notes"}
    assert served.ok("search_memories", unrelated)["results"][0]["score"] < RELEVANT
    assert served.ok("search_memories", {**unrelated, "threshold": RELEVANT})["results"] == []
    kept = served.ok("search_memories", {"query": "window seats", "threshold": RELEVANT})["results"]
    assert [r["id"] for r in kept] == [record["id"]]
    assert served.ok("get_memory", {"memory_id": record["id"]})["memory"] == "Prefers window seats on long flights"
    page = served.ok("list_memories", {"limit": 10})
    assert page["total"] >= 1 and record["id"] in [r["id"] for r in page["results"]]


def test_an_id_sent_as_a_number_is_understood(served: Served) -> None:
    user = served.user()
    memory_id = served.ok("add_memory", {"content": "Has a cat", "user_id": user, "infer": False})["results"][0]["id"]
    assert served.ok("get_memory", {"memory_id": int(memory_id), "user_id": user})["id"] == memory_id


def test_update_then_history(served: Served) -> None:
    user = served.user()
    memory_id = served.ok("add_memory", {"content": "Drinks tea", "user_id": user, "infer": False})["results"][0]["id"]
    updated = served.ok("update_memory", {"memory_id": memory_id, "user_id": user, "content": "Drinks coffee",
                                          "metadata": {"since": 2026}})
    assert updated["memory"] == "Drinks coffee" and updated["metadata"]["since"] == 2026
    history = served.ok("memory_history", {"memory_id": memory_id, "user_id": user})
    assert history["memory_id"] == memory_id
    assert [(e["event"], e["new_memory"]) for e in history["events"]] == [("ADD", "Drinks tea"), ("UPDATE", "Drinks coffee")]
    assert all(isinstance(e["id"], str) for e in history["events"])


def test_delete_memory(served: Served) -> None:
    user = served.user()
    memory_id = served.ok("add_memory", {"content": "Owns a bike", "user_id": user, "infer": False})["results"][0]["id"]
    assert served.ok("delete_memory", {"memory_id": memory_id, "user_id": user}) == {"deleted": 1, "id": memory_id}
    assert "NotFound" in served.error("get_memory", {"memory_id": memory_id, "user_id": user})


def test_delete_all_memories_of_an_explicit_scope(served: Served) -> None:
    user = served.user()
    for text_ in ("Likes jazz", "Plays chess"):
        served.ok("add_memory", {"content": text_, "user_id": user, "infer": False})
    assert served.ok("delete_all_memories", {"user_id": user}) == {"deleted": 2}
    assert served.ok("list_memories", {"user_id": user})["total"] == 0


def test_scopes_stay_apart(served: Served) -> None:
    user = served.user()
    theirs = served.ok("add_memory", {"content": "Secret plan: visit Lisbon", "user_id": user,
                                      "infer": False})["results"][0]["id"]
    assert theirs not in [r["id"] for r in served.ok("search_memories", {"query": "Lisbon"})["results"]]
    assert "NotFound" in served.error("get_memory", {"memory_id": theirs})  # the default user does not own it
    assert served.ok("get_memory", {"memory_id": theirs, "user_id": user})["id"] == theirs


def test_infer_writes_relations_and_related_entities_shows_them(served: Served) -> None:
    user = served.user()
    added = served.ok("add_memory", {"content": "I live in Berlin and work at Acme, like my friend Bob",
                                     "user_id": user})
    assert {r["relationship"] for r in added["relations"]["added_entities"]} == {"LIVES_IN", "WORKS_AT", "KNOWS"}
    around = served.ok("related_entities", {"name": "Alice", "user_id": user})
    assert around["matched_by"] == "name" and [e["name"] for e in around["entities"]] == ["alice"]
    facts = {(r["source"], r["relationship"], r["destination"]) for r in around["relations"]}
    assert ("alice", "WORKS_AT", "Acme") in facts and ("alice", "KNOWS", "bob") in facts
    assert {e["name"] for e in around["neighbours"]} >= {"Acme", "Berlin", "bob"}
    memory_ids = {r["id"] for r in added["results"]}
    assert {m["id"] for m in around["memories"]} <= memory_ids and around["memories"]
    for relation in around["relations"]:
        assert set(relation["memory_ids"]) <= memory_ids and relation["memory_ids"]
        assert relation["origin"] == "llm"
        assert relation["family"] == ("employment" if relation["relationship"] == "WORKS_AT" else None)
    acme = served.ok("related_entities", {"name": "acme", "user_id": user})
    assert ("alice", "WORKS_AT", "Acme") in {(r["source"], r["relationship"], r["destination"]) for r in acme["relations"]}
    unknown = served.ok("related_entities", {"name": "Zanzibar", "user_id": user})
    assert unknown["entities"] == [] and unknown["memories"] == [] and unknown["relations"] == []


def test_offline_relations_without_an_llm(served: Served) -> None:
    user = served.user()
    added = served.ok("add_memory", {"content": "Dana works at Initech.", "user_id": user, "infer": False})
    assert added["relations"]["added_entities"] == [{"source": "Dana", "relationship": "WORKS_AT",
                                                     "destination": "Initech"}]
    (relation,) = served.ok("related_entities", {"name": "Dana", "user_id": user})["relations"]
    assert (relation["relationship"], relation["origin"]) == ("WORKS_AT", "offline")
    assert relation["memory_ids"] == [added["results"][0]["id"]]


# -- bad input: a tool error that says what was wrong, and the server answers the next call ----

BAD = [
    ("add_memory", {}, "content"),
    ("add_memory", {"content": "   "}, "non-blank"),
    ("add_memory", {"content": "x" * 70_000}, "64 KiB"),
    ("add_memory", {"content": "x", "metadata": "not an object"}, "metadata"),
    ("add_memory", {"content": "x", "user_id": "a\x1fb"}, "U+001F"),
    ("search_memories", {"query": "x", "limit": 0}, "greater than or equal to 1"),
    ("search_memories", {"query": "x", "threshold": 2}, "threshold"),
    ("search_memories", {"query": "x", "filters": {"bad key": 1}}, "invalid filter key"),
    ("search_memories", {"query": "x", "filters": {"n": {"near": 1}}}, "near"),
    ("get_memory", {"memory_id": "abc"}, "decimal string"),
    ("get_memory", {"memory_id": "99999999999999999999999"}, "64 bits"),
    ("get_memory", {"memory_id": "12345"}, "NotFound: no memory 12345"),
    ("update_memory", {"memory_id": "12345"}, "update needs content or metadata"),
    ("update_memory", {"memory_id": "12345", "content": "x"}, "NotFound"),
    ("delete_memory", {"memory_id": "12345"}, "NotFound"),
    ("delete_all_memories", {}, "explicit user_id, agent_id or run_id"),
    ("list_memories", {"sort_by": "score"}, "sort_by"),
    ("list_memories", {"limit": 10_001}, "less than or equal to 10000"),
    ("memory_history", {"memory_id": "12345"}, "NotFound"),
    ("related_entities", {"name": "!!!"}, "letter or a digit"),
    ("related_entities", {"name": "Acme", "hops": 9}, "hops"),
]


@pytest.mark.parametrize(("tool", "arguments", "says"), BAD, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD)])
def test_bad_input_is_a_tool_error(served: Served, tool: str, arguments: dict[str, Any], says: str) -> None:
    message = served.error(tool, arguments)
    assert says in message and tool in message
    assert "Traceback" not in message
    assert served.ok("list_memories", {"limit": 1})["total"] >= 0  # still serving


def test_an_unknown_tool_is_an_error_not_a_crash(served: Served) -> None:
    assert "forget_everything" in served.error("forget_everything", {})
    assert served.ok("search_memories", {"query": "anything"}) is not None


# -- the command around the server ---------------------------------------------------------------


def test_stdio_stdout_carries_only_protocol(tmp_path: Path) -> None:
    """Verbose logging, model loading, a tool error: stdout still holds JSON-RPC lines only.
    The default user comes from POWERMEM_USER_ID here."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store": {"provider": "embedded", "path": str(tmp_path / "p.db")},
                                  "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}))
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "add_memory", "arguments": {"content": "Likes tea", "infer": False}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "get_memory", "arguments": {"memory_id": "nope"}}},
    ]
    server = subprocess.Popen(mcp_command(config, "-v"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=server_env({"POWERMEM_USER_ID": "raw"}))
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    server.stdin.flush()
    replies = []
    while len([r for r in replies if "id" in r]) < 3:  # answers may come in any order
        line = server.stdout.readline()
        assert line, "the server closed stdout early"
        replies.append(json.loads(line))  # every stdout line is a JSON-RPC message
    server.stdin.close()  # the client leaves: the server stops and closes the store
    rest = server.stdout.read()
    stderr = server.stderr.read() if server.stderr else ""
    assert server.wait(timeout=120) == 0, stderr
    replies += [json.loads(line) for line in rest.splitlines()]
    assert all(r.get("jsonrpc") == "2.0" for r in replies)
    by_id = {r["id"]: r for r in replies if "id" in r}
    assert by_id[2]["result"]["isError"] is False and by_id[3]["result"]["isError"] is True
    assert by_id[2]["result"]["structuredContent"]["results"][0]["user_id"] == "raw"  # POWERMEM_USER_ID
    assert "serving on stdio" in stderr and "get_memory" in stderr  # the verbose log: stderr


def test_http_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store": {"provider": "embedded", "path": str(tmp_path / "p.db")}}))
    done = subprocess.run([*mcp_command(config), "--transport", "http", "--host", "0.0.0.0"],
                          capture_output=True, text=True, env=server_env(), timeout=60, check=False)
    assert done.returncode == 1 and "powermem serve" in done.stderr and not done.stdout
    assert not (tmp_path / "p.db").exists()  # refused before opening anything


def test_help_names_the_transports() -> None:
    done = subprocess.run([sys.executable, "-m", "powermem.cli", "mcp", "--help"], capture_output=True, text=True,
                          env=server_env(), timeout=60, check=False)
    assert done.returncode == 0 and "stdio" in done.stdout and "--user-id" in done.stdout


def test_add_with_a_timestamp_then_search_and_list_as_of(served: Served) -> None:
    user = served.user()
    old = served.ok("add_memory", {"content": "Lived in Lisbon", "infer": False, "user_id": user,
                                   "timestamp": "2021-01-10T09:00:00+00:00"})
    assert old["results"][0]["created_at"] == "2021-01-10T09:00:00.000000+00:00"
    served.ok("add_memory", {"content": "Lives in Porto", "infer": False, "user_id": user})
    found = served.ok("search_memories", {"query": "Lisbon Porto", "user_id": user, "as_of": "2022-01-01"})
    assert [r["memory"] for r in found["results"]] == ["Lived in Lisbon"]
    page = served.ok("list_memories", {"user_id": user, "as_of": "2022-01-01"})
    assert [r["memory"] for r in page["results"]] == ["Lived in Lisbon"]
    assert "timestamp must be a datetime" in served.error("add_memory", {"content": "x", "user_id": user,
                                                                        "timestamp": "soon"})
