"""GraphML and HTML rendering of a tenant graph, from a hand-made graph (no store)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx

from powermem._admin import TenantGraph
from powermem.graph_export import write_graphml, write_html
from powermem.stores.base import EntityRow, MemoryRow, RelationRow

BIG = 7_391_024_480_123_904_001  # a real id is 64-bit: more than a GraphML int or a JS number holds


def sample() -> TenantGraph:
    memories = [MemoryRow(BIG, "alice lives in Paris </script><b>x</b>", "h", "alice", None, None, {"k": 1},
                          "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
                MemoryRow(2, "alice works at Acme", "h", "alice", None, "r1", {}, "t", "t")]
    entities = {10: EntityRow(10, "alice", "alice", "person"), 11: EntityRow(11, "Paris", "paris", "place"),
                12: EntityRow(12, "Berlin", "berlin", "place"), 13: EntityRow(13, "Acme", "acme", "organization")}
    relations = [
        RelationRow(20, "alice", "LIVES_IN", "Paris", "alice lives in Paris", (BIG,), "v1", None, 10, 11),
        RelationRow(21, "alice", "LIVES_IN", "Berlin", "alice lives in Berlin", (), "v0", "v1", 10, 12),
        RelationRow(22, "alice", "WORKS_AT", "Acme", "alice works at Acme", (2,), "v1", None, 10, 13, origin="offline"),
    ]
    mentions = [(BIG, 10), (BIG, 11), (2, 10), (2, 13)]
    return TenantGraph(memories, entities, mentions, relations)


def test_graphml_holds_every_node_and_edge(tmp_path: Path) -> None:
    path = tmp_path / "g.graphml"
    write_graphml(sample(), path)
    g = nx.read_graphml(path, force_multigraph=True)
    kinds = {n: d["kind"] for n, d in g.nodes(data=True)}
    assert sorted(k for k in kinds.values()) == ["entity"] * 4 + ["memory"] * 2
    assert g.nodes[f"m{BIG}"]["pm_id"] == str(BIG)
    assert json.loads(g.nodes[f"m{BIG}"]["metadata"]) == {"k": 1}
    assert "run_id" not in g.nodes[f"m{BIG}"] and g.nodes["m2"]["run_id"] == "r1"
    edges = [(u, v, d) for u, v, d in g.edges(data=True)]
    assert sum(d["kind"] == "MENTIONS" for _, _, d in edges) == 4
    relations = {(u, v): d for u, v, d in edges if d["kind"] == "relation"}
    assert relations[("e10", "e12")]["valid"] is False and relations[("e10", "e12")]["invalid_at"] == "v1"
    assert relations[("e10", "e11")]["relationship"] == "LIVES_IN" and relations[("e10", "e11")]["valid"] is True
    assert relations[("e10", "e11")]["origin"] == "llm" and relations[("e10", "e13")]["origin"] == "offline"


def test_html_is_self_contained_and_escapes_text(tmp_path: Path) -> None:
    path = tmp_path / "g.html"
    write_html(sample(), path, "graph of <alice>")
    page = path.read_text()
    assert "<title>graph of &lt;alice&gt;</title>" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://", page.replace("http://www.w3.org", ""))
    assert page.count("</script>") == 2  # the data block and the code: the memory's "</script>" was escaped
    raw = re.search(r'<script id="graph-data" type="application/json">(.*?)</script>', page, re.S)
    assert raw is not None
    data = json.loads(raw.group(1))
    labels = {n["label"] for n in data["nodes"]}
    assert {"alice", "Paris", "Berlin", "Acme", "alice works at Acme"} <= labels
    kinds = sorted(link["kind"] for link in data["links"])
    assert kinds == ["MENTIONS"] * 4 + ["relation"] * 3
    assert [link["valid"] for link in data["links"] if link["label"] == "LIVES_IN"].count(False) == 1


def test_empty_graph(tmp_path: Path) -> None:
    write_html(TenantGraph(), tmp_path / "e.html", "empty")
    write_graphml(TenantGraph(), tmp_path / "e.graphml")
    assert nx.read_graphml(tmp_path / "e.graphml").number_of_nodes() == 0
