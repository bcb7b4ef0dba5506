"""Neo4j Browser inspection: the saved queries of cypher/browse/, the style sheet, and the Browser.

- Every saved query is a leading ``//`` comment (what it shows, the ``:param`` lines it needs)
  and one statement; on the test Neo4j each one passes EXPLAIN and returns what it promises on
  a graph built through the public API (a scripted LLM supplies relations and an invalidation).
- With Chromium, Node and playwright-core present, the page of ``powermem graph export
  --format html`` is opened in headless Chromium (no script error, nothing fetched, a graph
  drawn), and Neo4j Browser itself (served by the test
  server's HTTP port) is driven headless: log in, load powermem.grass, run a saved query, and
  check the graph shows memories by their text, entities by their name and relations by their
  type. ``POWERMEM_UPDATE_SCREENSHOTS=1`` copies the screenshot to docs/browser.png.

Install for the Browser test (Debian/Ubuntu):  apt-get install -y chromium nodejs npm  and
``cd tests/integration/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]
BROWSE = ROOT / "cypher" / "browse"
QUERIES = sorted(BROWSE.glob("*.cypher"))
BROWSER_DIR = Path(__file__).parent / "browser"
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def split(path: Path) -> tuple[list[str], str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    comment = []
    while lines and lines[0].startswith("//"):
        comment.append(lines.pop(0))
    return comment, "\n".join(lines).strip()


def test_there_are_saved_queries() -> None:
    names = {p.stem for p in QUERIES}
    assert {"tenant_graph", "entity_neighbourhood", "memory_history", "invalidated_relations",
            "most_connected_entities", "graph_as_of"} <= names


@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_saved_query_is_a_comment_and_one_statement(path: Path) -> None:
    comment, statement = split(path)
    assert comment and len(" ".join(comment)) > 40, f"{path.name}: say what it shows in a leading // comment"
    assert statement and "RETURN" in statement
    assert ";" not in statement.rstrip(";"), f"{path.name}: one statement only"
    for name in set(_PARAM.findall(statement)):
        assert f":param {name} =>" in "\n".join(comment), f"{path.name}: show how to set ${name}"


def test_style_sheet_captions() -> None:
    grass = (BROWSE / "powermem.grass").read_text(encoding="utf-8")
    unquoted = re.sub(r'"[^"]*"', '""', grass)
    assert unquoted.count("{") == unquoted.count("}") and "/*" not in grass  # Browser's parser takes no comments
    rules = dict(re.findall(r'([\w.]+)\s*\{((?:[^{}"]|"[^"]*")*)\}', grass))
    assert 'caption: "{memory}"' in rules["node.Memory"]
    assert 'caption: "{name}"' in rules["node.Entity"]
    assert 'caption: "<type>"' in rules["relationship"]


# -- against the test Neo4j ---------------------------------------------------------------------

SCRIPT = ScriptedLLM(
    extractions={
        "Berlin": {
            "facts": ["alice lives in Berlin", "alice works at Acme", "Acme is based in Berlin", "alice knows bob"],
            "entities": [{"name": "alice", "type": "person"}, {"name": "Berlin", "type": "place"},
                         {"name": "Acme", "type": "organization"}, {"name": "bob", "type": "person"}],
            "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Berlin"},
                          {"source": "alice", "relationship": "WORKS_AT", "destination": "Acme"},
                          {"source": "Acme", "relationship": "BASED_IN", "destination": "Berlin"},
                          {"source": "alice", "relationship": "KNOWS", "destination": "bob"}]},
        "jazz": {
            "facts": ["bob plays jazz piano", "bob works at Acme"],
            "entities": [{"name": "bob", "type": "person"}, {"name": "jazz", "type": "music"},
                         {"name": "Acme", "type": "organization"}],
            "relations": [{"source": "bob", "relationship": "PLAYS", "destination": "jazz"},
                          {"source": "bob", "relationship": "WORKS_AT", "destination": "Acme"}]},
        "Paris": {
            "facts": ["alice lives in Paris"],
            "entities": [{"name": "alice", "type": "person"}, {"name": "Paris", "type": "place"}],
            "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Paris"}]},
    },
    rules=[Rule("lives in Paris", "UPDATE", target="lives in Berlin", text="alice lives in Paris",
                contradicts="LIVES_IN")],
)


@pytest.fixture
async def seeded(neo4j_store_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> AsyncIterator[dict[str, Any]]:
    """A small graph for a fresh user: relations, mentions, an update and an invalidation."""
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions, SCRIPT.rules))
    user = f"browser-{uuid.uuid4().hex[:8]}"
    config = {"store": {"provider": "neo4j", **neo4j_store_config}, "embedding": {"provider": "hashing", "dims": 64},
              "llm": {"provider": "openai", "base_url": openai_server.base_url, "api_key": "test", "model": "scripted"},
              # 64 hashed dimensions put "lives in Berlin" and "lives in Paris" at 0.66 (MiniLM: 0.8+).
              "ingest": {"reconcile_min_similarity": 0.5}}
    async with AsyncMemory(config) as memory:
        await memory.add("I live in Berlin and work at Acme, like my friend Bob", user_id=user)
        await memory.add("Bob plays jazz piano; he is at Acme too", user_id=user)
        moved = await memory.add("I moved to Paris", user_id=user)
        try:
            yield {"user": user, "updated": str(moved["results"][0]["id"]), "config": config}
        finally:
            await memory.delete_all(user_id=user)


def params_for(path: Path, seeded: dict[str, Any]) -> dict[str, Any]:
    values = {"user_id": seeded["user"], "name": "Alice", "memory_id": seeded["updated"], "as_of": "9999-12-31"}
    return {name: values[name] for name in set(_PARAM.findall(split(path)[1]))}


@pytest.fixture
def session(neo4j_store_config: dict[str, Any]) -> Iterator[Any]:
    import neo4j

    settings = neo4j_store_config
    driver = neo4j.GraphDatabase.driver(settings["uri"], auth=(settings.get("username") or "neo4j",
                                                               settings.get("password") or ""))
    with driver, driver.session(database=settings.get("database")) as s:
        yield s


@pytest.mark.neo4j
@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_saved_query_explains(path: Path, session: Any) -> None:
    params = dict.fromkeys(set(_PARAM.findall(split(path)[1])), "x")
    session.run("EXPLAIN " + split(path)[1], params).consume()


@pytest.mark.neo4j
async def test_saved_queries_show_what_they_say(seeded: dict[str, Any], session: Any) -> None:
    def run(name: str) -> list[Any]:
        path = BROWSE / f"{name}.cypher"
        return list(session.run(split(path)[1], params_for(path, seeded)))

    graph = run("tenant_graph")
    texts = {row["m"]["memory"] for row in graph}
    assert {"alice lives in Paris", "alice works at Acme", "bob plays jazz piano"} <= texts
    types = {rel.type for row in graph if row["relation"] for rel in row["relation"].relationships}
    assert {"LIVES_IN", "WORKS_AT", "PLAYS"} <= types
    assert all(rel["invalid_at"] is None for row in graph if row["relation"] for rel in row["relation"].relationships)

    then = run("graph_as_of")  # as of the far future: today's graph, the superseded relation left out
    assert {row["m"]["memory"] for row in then} == texts
    then_types = {(rel.type, rel.end_node["name"]) for row in then if row["relation"] for rel in row["relation"].relationships}
    assert ("LIVES_IN", "Paris") in then_types and ("LIVES_IN", "Berlin") not in then_types

    around = {node["name"] for row in run("entity_neighbourhood") if row["path"] for node in row["path"].nodes
              if "Entity" in node.labels}
    assert {"alice", "Paris", "Acme", "bob"} <= around and "Berlin" in around  # Berlin through Acme BASED_IN

    [invalid] = run("invalidated_relations")
    assert (invalid["fact"], invalid["path"].relationships[0].type) == ("alice lives in Berlin", "LIVES_IN")
    assert invalid["invalid_from"] is not None

    history = run("memory_history")
    assert [(h["event"], h["after"]) for h in history] == [("ADD", "alice lives in Berlin"),
                                                           ("UPDATE", "alice lives in Paris")]
    top = run("most_connected_entities")
    assert top[0]["entity"] in {"alice", "Acme", "bob"} and top[0]["relations"] >= 2
    tenants = {row["user_id"]: row for row in run("tenants")}
    assert tenants[seeded["user"]]["memories"] == 6 and tenants[seeded["user"]]["entities"] >= 5


# -- Neo4j Browser in headless Chromium --------------------------------------------------------


def _browser_http_url(bolt_uri: str) -> str | None:
    if os.environ.get("NEO4J_HTTP_URL"):
        return os.environ["NEO4J_HTTP_URL"]
    env_file = ROOT / ".neo4j" / os.environ.get("NEO4J_LOCAL_TARGET", "5.26") / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("NEO4J_HTTP_URL="):
                return line.split("=", 1)[1].strip("'\"")
    host = re.sub(r"^[a-z+]+://", "", bolt_uri).split(":")[0]
    return f"http://{host}:7474"


def _tools() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    node = shutil.which("node")
    if not chromium or not node:
        pytest.skip("Neo4j Browser test needs chromium and node: apt-get install -y chromium nodejs npm")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        npm = shutil.which("npm")
        if not npm:
            pytest.skip("playwright-core is not installed and npm is missing: apt-get install -y npm")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, capture_output=True, text=True,
                              env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}, timeout=300, check=False)
        assert done.returncode == 0, f"npm ci in {BROWSER_DIR} failed:\n{done.stdout}\n{done.stderr}"
    return chromium, node


@pytest.mark.neo4j
def test_neo4j_browser_shows_the_graph(seeded: dict[str, Any], neo4j_store_config: dict[str, Any],
                                       tmp_path: Path) -> None:
    chromium, node = _tools()
    http = _browser_http_url(neo4j_store_config["uri"])
    try:
        with urllib.request.urlopen(f"{http}/browser/", timeout=10) as reply:
            served = reply.status == 200
    except OSError:
        served = False
    if not served:
        pytest.skip(f"the test Neo4j does not serve Neo4j Browser at {http}/browser/")
    shot = tmp_path / "browser.png"
    tenant_graph = BROWSE / "tenant_graph.cypher"
    plan = {"http": http, "bolt": re.sub(r"^[a-z+]+://", "", neo4j_store_config["uri"]),
            "username": neo4j_store_config.get("username") or "neo4j",
            "password": neo4j_store_config.get("password") or "", "chromium": chromium,
            "style": (BROWSE / "powermem.grass").read_text(),
            # Show what the query returns, not also every relationship between the shown nodes
            # ("Connect result nodes"), which would bring back invalidated relations.
            "commands": [":config autoComplete: false"],
            "steps": [{"params": params_for(tenant_graph, seeded), "query": tenant_graph.read_text(),
                       "screenshot": str(shot)}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run([node, str(BROWSER_DIR / "browse.mjs"), str(tmp_path / "plan.json")], cwd=BROWSER_DIR,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"browse.mjs failed:\n{done.stdout}\n{done.stderr}"
    [shown] = json.loads(done.stdout.strip().splitlines()[-1])["steps"]
    captions = " ".join(shown["nodeCaptions"])
    assert shown["nodes"] >= 8 and shown["relationships"] >= 8, shown["text"]
    assert "alice" in captions and "Acme" in captions and "jazz" in captions  # entities by name
    assert "Paris" in captions and "lives in" in captions  # memories by their text (wrapped over lines)
    assert {"LIVES_IN", "WORKS_AT", "PLAYS", "MENTIONS"} <= set(shown["relationshipCaptions"])
    assert shown["relationshipCaptions"].count("LIVES_IN") == 1  # the invalidated one is not drawn
    assert shot.stat().st_size > 10_000
    if os.environ.get("POWERMEM_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "browser.png")


def test_graph_export_page_draws_in_chromium(tmp_path: Path) -> None:
    chromium, node = _tools()
    from powermem._admin import TenantGraph
    from powermem.graph_export import write_html
    from powermem.stores.base import EntityRow, MemoryRow, RelationRow

    memories = [MemoryRow(i, f"memory {i} about alice </script>", "h", "alice", None, None, {}, "t", "t")
                for i in range(1, 40)]
    entities = {100 + k: EntityRow(100 + k, name, name.lower(), "person" if k < 2 else "place")
                for k, name in enumerate(["alice", "bob", "Paris", "Berlin"])}
    relations = [RelationRow(200, "alice", "KNOWS", "bob", "alice knows bob", (1,), "v", None, 100, 101),
                 RelationRow(201, "alice", "LIVES_IN", "Berlin", "f", (2,), "v", "w", 100, 103),
                 RelationRow(202, "alice", "LIVES_IN", "Paris", "f", (3,), "w", None, 100, 102)]
    mentions = [(m.id, 100 + m.id % 4) for m in memories]
    page = tmp_path / "graph.html"
    write_html(TenantGraph(memories, entities, mentions, relations), page, "test graph")
    shot = tmp_path / "graph.png"
    done = subprocess.run([node, str(BROWSER_DIR / "graph_page.mjs"), str(page), chromium, str(shot)],
                          cwd=BROWSER_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"graph_page.mjs failed:\n{done.stdout}\n{done.stderr}"
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["errors"] == [] and shown["requests"] == []
    assert shown["stats"] == "39 memories · 4 entities · 3 relations (1 invalidated)"
    assert shown["inked"] > 5_000 and shot.stat().st_size > 10_000
