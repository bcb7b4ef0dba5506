"""The ``powermem`` command line end to end: every command, tables and JSON, errors and exit statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from tests.support.cli_env import STORE_KINDS, CliEnv, make_cli_env
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM


@pytest.fixture(params=STORE_KINDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[CliEnv]:
    env = make_cli_env(request.param, tmp_path, monkeypatch, capsys, request)
    yield env
    if env.kind == "neo4j":  # the test server is shared: leave nothing behind
        env.run("delete-all", "--user", env.user)


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             request: pytest.FixtureRequest) -> CliEnv:
    return make_cli_env("embedded", tmp_path, monkeypatch, capsys, request)


def add(cli: CliEnv, text: str, *extra: str) -> dict[str, Any]:
    out = cli.ok("add", text, "--user", cli.user, "--json", *extra)
    [record] = json.loads(out)["results"]
    return dict(record)


def test_add_search_get_list_update_history_delete(cli: CliEnv) -> None:
    first = add(cli, "Alice works at Acme in Lisbon", "--metadata", '{"source": "cli"}')
    second = add(cli, "Alice's manager is Bob")
    assert first["metadata"] == {"source": "cli", "role": "user"} and first["event"] == "ADD"

    found = json.loads(cli.ok("search", "works at Acme in Lisbon", "--user", cli.user, "--json"))
    assert found["results"][0]["id"] == first["id"] and 0 <= found["results"][0]["score"] <= 1
    table = cli.ok("search", "where does Alice work", "--user", cli.user)
    assert table.splitlines()[0].split() == ["id", "score", "scope", "created", "memory"]
    assert "Alice works at Acme in Lisbon" in table

    shown = cli.ok("get", str(first["id"]), "--user", cli.user)
    assert "Alice works at Acme in Lisbon" in shown and 'source: "cli"' in shown
    listed = json.loads(cli.ok("list", "--user", cli.user, "--json", "--order", "asc"))
    assert [r["id"] for r in listed["results"]] == [first["id"], second["id"]] and listed["total"] == 2
    assert "2 of 2 memories" in cli.ok("list", "--user", cli.user)
    assert json.loads(cli.ok("list", "--user", cli.user, "--json", "--filters", '{"source": "cli"}'))["total"] == 1

    updated = json.loads(cli.ok("update", str(first["id"]), "--user", cli.user, "--content", "Alice works at Initech",
                                "--metadata", '{"source": null, "checked": true}', "--json"))
    assert updated["memory"] == "Alice works at Initech" and updated["metadata"] == {"role": "user", "checked": True}
    events = json.loads(cli.ok("history", str(first["id"]), "--user", cli.user, "--json"))
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    assert "Alice works at Initech" in cli.ok("history", str(first["id"]), "--user", cli.user)

    assert cli.ok("delete", str(second["id"]), "--user", cli.user) == f"deleted {second['id']}\n"
    missing = cli.run("get", str(second["id"]), "--user", cli.user)
    assert missing.code == 1 and missing.err == f"powermem: no memory {second['id']} for user_id={cli.user}\n"


def test_other_tenants_cannot_see_or_touch_a_memory(cli: CliEnv) -> None:
    record = add(cli, "a private note")
    for command in ("get", "delete", "history"):
        result = cli.run(command, str(record["id"]), "--user", cli.user + "-other")
        assert result.code == 1 and "no memory" in result.err
    assert cli.run("update", str(record["id"]), "--user", cli.user + "-other", "--content", "x").code == 1
    assert cli.ok("get", str(record["id"]), "--user", cli.user)


def test_delete_all_needs_a_scope(cli: CliEnv) -> None:
    add(cli, "one")
    add(cli, "two")
    refused = cli.run("delete-all")
    assert refused.code == 2 and "--all" in refused.err
    assert json.loads(cli.ok("list", "--user", cli.user, "--json"))["total"] == 2
    assert cli.ok("delete-all", "--user", cli.user) == "deleted 2 memories\n"


def test_delete_all_with_all_wipes_every_tenant(embedded: CliEnv) -> None:
    embedded.ok("add", "one", "--user", "a")
    embedded.ok("add", "two", "--user", "b")
    assert json.loads(embedded.ok("delete-all", "--all", "--json")) == {"deleted": 2}
    assert "no memories" in embedded.ok("stats")


def test_stats_per_tenant(embedded: CliEnv) -> None:
    for user, text in (("alice", "Alice met Bob in Paris"), ("alice", "Alice likes tea"), ("bob", "Bob visited Rome")):
        embedded.ok("add", text, "--user", user)
    rows = {r["user_id"]: r for r in json.loads(embedded.ok("stats", "--json"))["tenants"]}
    assert rows["alice"]["memories"] == 2 and rows["bob"]["memories"] == 1
    assert rows["alice"]["entities"] >= 2 and rows["alice"]["relations"] == 0
    table = embedded.ok("stats").splitlines()
    assert table[0].split() == ["user_id", "agent_id", "memories", "entities", "relations"]
    assert table[-1].split()[:2] == ["total", "3"]
    assert [r["user_id"] for r in json.loads(embedded.ok("stats", "--user", "bob", "--json"))["tenants"]] == ["bob"]


def test_add_reads_stdin_and_agent_scope(embedded: CliEnv) -> None:
    result = embedded.sub("add", "-", "--agent", "helper", "--json", stdin="remember the milk\n")
    assert result.code == 0, result.err
    record = json.loads(result.out)["results"][0]
    assert (record["memory"].strip(), record["agent_id"], record["user_id"]) == ("remember the milk", "helper", None)


SCRIPT = ScriptedLLM(
    extractions={
        "I live in Berlin": {
            "facts": ["alice lives in the city of Berlin", "alice works at Acme"],
            "entities": [{"name": "alice", "type": "person"}, {"name": "Berlin", "type": "place"},
                         {"name": "Acme", "type": "organization"}],
            "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Berlin"},
                          {"source": "alice", "relationship": "WORKS_AT", "destination": "Acme"}]},
        "moved to Paris": {
            "facts": ["alice lives in the city of Paris"],
            "entities": [{"name": "alice", "type": "person"}, {"name": "Paris", "type": "place"}],
            "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Paris"}]},
    },
    rules=[Rule("city of Paris", "UPDATE", target="city of Berlin", text="alice lives in the city of Paris",
                contradicts="LIVES_IN")],
)


def test_graph_export_with_llm_relations(cli: CliEnv, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions, SCRIPT.rules))
    cli.use_llm(openai_server.base_url)
    first = json.loads(cli.ok("add", "I live in Berlin and work at Acme", "--user", cli.user, "--json"))
    assert len(first["relations"]["added_entities"]) == 2
    moved = cli.ok("add", "I moved to Paris", "--user", cli.user)
    assert "UPDATE" in moved and "relations invalidated:" in moved and "alice -[LIVES_IN]-> Berlin" in moved

    graphml = cli.tmp / "g.graphml"
    summary = json.loads(cli.ok("graph", "export", "--user", cli.user, "--format", "graphml", "--out", graphml, "--json"))
    assert summary["relations"] == 3 and summary["memories"] == 2
    g = nx.read_graphml(graphml, force_multigraph=True)
    names = {d["label"] for _, d in g.nodes(data=True) if d["kind"] == "entity"}
    assert {"alice", "Berlin", "Paris", "Acme"} <= names
    relations = {(g.nodes[u]["label"], d["relationship"], g.nodes[v]["label"], d["valid"])
                 for u, v, d in g.edges(data=True) if d["kind"] == "relation"}
    assert relations == {("alice", "LIVES_IN", "Berlin", False), ("alice", "LIVES_IN", "Paris", True),
                         ("alice", "WORKS_AT", "Acme", True)}
    memories = {d["label"] for _, d in g.nodes(data=True) if d["kind"] == "memory"}
    assert memories == {"alice lives in the city of Paris", "alice works at Acme"}
    assert any(d["kind"] == "MENTIONS" for _, _, d in g.edges(data=True))

    page = cli.tmp / "g.html"
    assert "wrote" in cli.ok("graph", "export", "--user", cli.user, "--format", "html", "--out", page)
    text = page.read_text()
    assert '"label": "LIVES_IN"' in text and '"label": "alice works at Acme"' in text and "<canvas" in text


def test_graph_export_limit_reports_truncation(embedded: CliEnv) -> None:
    for i in range(3):
        embedded.ok("add", f"note {i} about Lisbon", "--user", "u")
    out = embedded.ok("graph", "export", "--user", "u", "--format", "html", "--out", "g.html", "--limit", "2")
    assert "2 memories" in out and "only the oldest 2" in out


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["get", "not-a-number", "--user", "u"], 1, "powermem: "),
    (["search", "q", "--limit", "0"], 1, "limit must be an integer within 1..1,000"),
    (["search", "q", "--threshold", "2"], 1, "threshold"),
    (["list", "--filters", '{"bad key": 1}'], 1, "powermem: "),
    (["add", "hello"], 1, "user_id, agent_id or run_id"),
    (["update", "1", "--user", "u"], 2, "--content and/or --metadata"),
    (["import", "missing.jsonl", "--user", "u"], 1, "missing.jsonl: no such file"),
    (["list", "--config", "nope.json"], 1, "cannot read config nope.json"),
    (["graph", "export", "--format", "html", "--out", "no/such/dir/g.html"], 1, "powermem: "),
    (["search"], 2, "required: query"),
])
def test_user_mistakes_are_one_line_without_traceback(embedded: CliEnv, argv: list[str], code: int,
                                                      message: str) -> None:
    # In process: an exception escaping main() would fail the test, so "no traceback" holds too.
    result = embedded.run(*argv)
    assert result.code == code, result.err
    assert message in result.err and result.err.startswith("powermem: ")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_exit_status_reaches_the_shell(embedded: CliEnv) -> None:
    result = embedded.sub("update", "1", "--user", "u")
    assert (result.code, result.out) == (2, "")
    assert result.err == "powermem: update needs --content and/or --metadata\n"


def test_bad_json_in_an_import_file_names_the_line(embedded: CliEnv) -> None:
    (embedded.tmp / "bad.jsonl").write_text('{"content": "ok", "user_id": "u"}\n{"content": oops}\n')
    result = embedded.sub("import", "bad.jsonl")
    assert result.code == 1
    assert result.err.startswith("powermem: bad.jsonl line 2: invalid JSON") and "Traceback" not in result.err
    assert "no memories" in embedded.ok("stats")  # nothing was written


@pytest.mark.parametrize("embedding", ["hashing", "local"])
def test_demo_answers_the_manager_question_first(embedded: CliEnv, embedding: str) -> None:
    out = embedded.ok("demo", "--embedding", embedding, "--path", embedded.tmp / "demo")
    assert "powermem demo" in out and "memories in the store" in out
    answer = out.split("Q: Where does Maya's manager live?\n", 1)[1].splitlines()[0]
    assert answer.startswith("  1. ") and answer.endswith("Daniel Okafor lives in Porto and commutes to Lisbon twice a week.")


@pytest.mark.neo4j
def test_a_wrong_neo4j_password_is_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str],
                                                  request: pytest.FixtureRequest) -> None:
    cli = make_cli_env("neo4j", tmp_path, monkeypatch, capsys, request)
    wrong = "wrong-pw-cli-61d0"
    cli.monkeypatch.setenv("NEO4J_PASSWORD", wrong)
    result = cli.sub("stats", "--verbose")  # a subprocess: its whole stderr, logging included
    assert result.code == 1 and "authentication rejected" in result.err, result.err
    assert wrong not in result.err + result.out
    shown = json.loads(cli.ok("config"))
    assert shown["store"]["password"] == "**********" and wrong not in json.dumps(shown)


def test_add_timestamp_and_as_of(cli: CliEnv) -> None:
    old = add(cli, "Alice lived in Lisbon", "--timestamp", "2021-01-10T09:00:00+00:00")
    assert old["created_at"] == "2021-01-10T09:00:00.000000+00:00"
    new = add(cli, "Alice lives in Porto", "--timestamp", "1672531200")
    assert new["created_at"] == "2023-01-01T00:00:00.000000+00:00"
    page = json.loads(cli.ok("list", "--user", cli.user, "--as-of", "2022-01-01", "--json"))
    assert [r["memory"] for r in page["results"]] == ["Alice lived in Lisbon"]
    found = json.loads(cli.ok("search", "Alice Lisbon Porto", "--user", cli.user, "--as-of", "2022-01-01", "--json"))
    assert [r["memory"] for r in found["results"]] == ["Alice lived in Lisbon"]
    assert "2 of 2 memories" in cli.ok("list", "--user", cli.user, "--include-invalidated")
    refused = cli.run("add", "x", "--user", cli.user, "--timestamp", "soon")
    assert refused.code != 0 and "timestamp must be a datetime" in refused.err
