"""A tenant's graph as GraphML (for Gephi, yEd, Cytoscape, networkx) or as one HTML page.

The HTML page is self-contained (inline data, inline JavaScript, no CDN): a force-directed
layout drawn on a canvas, for users of the embedded store, who have no Neo4j Browser.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import networkx as nx

from powermem._admin import TenantGraph
from powermem.stores.base import MemoryRow, RelationRow

__all__ = ["to_networkx", "write_graphml", "write_html"]


def _memory_attrs(row: MemoryRow) -> dict[str, Any]:
    attrs: dict[str, Any] = {"kind": "memory", "label": row.memory, "memory": row.memory, "pm_id": str(row.id),
                             "created_at": row.created_at, "updated_at": row.updated_at,
                             "metadata": json.dumps(row.metadata, ensure_ascii=False, sort_keys=True)}
    # GraphML has no null: an unset scope field is simply absent.
    attrs.update({k: v for k, v in (("user_id", row.user_id), ("agent_id", row.agent_id),
                                    ("run_id", row.run_id)) if v is not None})
    return attrs


def _relation_attrs(rel: RelationRow) -> dict[str, Any]:
    attrs: dict[str, Any] = {"kind": "relation", "label": rel.relationship, "relationship": rel.relationship,
                             "fact": rel.fact, "valid_at": rel.valid_at, "valid": rel.invalid_at is None,
                             "origin": rel.origin, "pm_id": str(rel.id)}
    if rel.invalid_at is not None:
        attrs["invalid_at"] = rel.invalid_at
    if rel.family is not None:
        attrs["family"] = rel.family
    if rel.memory_ids:
        attrs["memory_ids"] = ",".join(str(m) for m in rel.memory_ids)
    return attrs


def to_networkx(graph: TenantGraph) -> nx.MultiDiGraph:
    """Nodes ``m<id>`` (memories) and ``e<id>`` (entities); ids are strings: 64-bit ints overflow some readers."""
    g = nx.MultiDiGraph()
    for row in graph.memories:
        g.add_node(f"m{row.id}", **_memory_attrs(row))
    for entity in graph.entities.values():
        g.add_node(f"e{entity.id}", kind="entity", label=entity.name, name=entity.name,
                   name_key=entity.name_key, type=entity.type, pm_id=str(entity.id))
    for memory_id, entity_id in graph.mentions:
        if entity_id in graph.entities:
            g.add_edge(f"m{memory_id}", f"e{entity_id}", kind="MENTIONS", label="MENTIONS")
    for rel in graph.relations:
        for end in (rel.source_id, rel.destination_id):
            if f"e{end}" not in g:  # a relation whose endpoint the expansion did not return
                g.add_node(f"e{end}", kind="entity", label="?", pm_id=str(end))
        g.add_edge(f"e{rel.source_id}", f"e{rel.destination_id}", key=f"r{rel.id}", **_relation_attrs(rel))
    return g


def write_graphml(graph: TenantGraph, path: Path) -> nx.MultiDiGraph:
    g = to_networkx(graph)
    nx.write_graphml(g, str(path), encoding="utf-8", prettyprint=True)
    return g


def _page_data(g: nx.MultiDiGraph, title: str) -> dict[str, Any]:
    index = {node: i for i, node in enumerate(g.nodes)}
    nodes = []
    for node, attrs in g.nodes(data=True):
        detail = {k: v for k, v in attrs.items() if k not in ("kind", "label", "memory")}
        nodes.append({"id": node, "kind": attrs.get("kind"), "label": attrs.get("label", ""),
                      "type": attrs.get("type", ""), "detail": detail})
    links = []
    for source, target, attrs in g.edges(data=True):
        links.append({"s": index[source], "t": index[target], "kind": attrs.get("kind"),
                      "label": attrs.get("label", ""), "valid": attrs.get("valid", True),
                      "fact": attrs.get("fact", ""), "at": attrs.get("valid_at", ""),
                      "until": attrs.get("invalid_at", "")})
    return {"title": title, "nodes": nodes, "links": links}


def write_html(graph: TenantGraph, path: Path, title: str) -> nx.MultiDiGraph:
    g = to_networkx(graph)
    data = json.dumps(_page_data(g, title), ensure_ascii=False)
    # "<" escaped so that no text in the data can close the <script> element it sits in.
    data = data.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    page = _PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)
    path.write_text(page, encoding="utf-8")
    return g


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  html, body { margin: 0; height: 100%; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
               color: #1d2330; background: #f7f8fa; }
  header { position: absolute; top: 0; left: 0; right: 0; padding: 8px 14px; background: rgba(255,255,255,.92);
           border-bottom: 1px solid #dde1e8; display: flex; gap: 18px; align-items: center; flex-wrap: wrap; z-index: 2; }
  header h1 { font-size: 15px; margin: 0; }
  header label { white-space: nowrap; }
  #stats { color: #5a6272; }
  #legend span { display: inline-flex; align-items: center; gap: 5px; margin-right: 12px; }
  #legend i { display: inline-block; width: 12px; height: 12px; }
  canvas { display: block; width: 100%; height: 100%; cursor: grab; }
  #tip { position: absolute; pointer-events: none; max-width: 420px; background: #fff; border: 1px solid #c9ced8;
         border-radius: 6px; padding: 8px 10px; box-shadow: 0 4px 14px rgba(0,0,0,.12); display: none; z-index: 3;
         white-space: pre-wrap; word-break: break-word; }
  #tip b { display: block; margin-bottom: 4px; }
  input[type=search] { padding: 3px 6px; border: 1px solid #c9ced8; border-radius: 4px; width: 180px; }
</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <span id="stats"></span>
  <span id="legend">
    <span><i style="border-radius:50%;background:#3b7dd8"></i>entity</span>
    <span><i style="background:#9aa3b2"></i>memory</span>
    <span><i style="height:2px;background:#404a5c"></i>relation</span>
    <span><i style="height:0;border-top:2px dashed #d0463b"></i>invalidated</span>
    <span><i style="height:1px;background:#c3c9d3"></i>mentions</span>
  </span>
  <label><input type="checkbox" id="showMemories" checked> memories</label>
  <label><input type="checkbox" id="showInvalid" checked> invalidated relations</label>
  <input type="search" id="find" placeholder="highlight…">
</header>
<canvas id="view"></canvas>
<div id="tip"></div>
<script id="graph-data" type="application/json">__DATA__</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var nodes = data.nodes, links = data.links;
  var canvas = document.getElementById("view"), ctx = canvas.getContext("2d"), tip = document.getElementById("tip");
  var palette = ["#3b7dd8", "#e07b39", "#2fa37a", "#b45bc9", "#d4a72c", "#d65a7a", "#4aa3b8", "#7d8c2e"];
  var types = {}, typeCount = 0;
  var show = { memories: true, invalid: true }, highlight = "";
  var view = { x: 0, y: 0, k: 1 }, dpr = window.devicePixelRatio || 1;

  var degree = new Array(nodes.length).fill(0);
  links.forEach(function (l) { degree[l.s]++; degree[l.t]++; });
  nodes.forEach(function (n, i) {
    var a = i * 2.399963, r = 12 * Math.sqrt(i + 1);    // golden-angle spiral: no overlaps at start
    n.x = r * Math.cos(a); n.y = r * Math.sin(a); n.vx = 0; n.vy = 0;
    n.r = n.kind === "entity" ? 6 + Math.min(10, Math.sqrt(degree[i]) * 1.6) : 4.5;
    if (n.kind === "entity") {
      if (!(n.type in types)) { types[n.type] = palette[typeCount++ % palette.length]; }
      n.color = types[n.type];
    } else { n.color = "#9aa3b2"; }
  });
  var entities = nodes.filter(function (n) { return n.kind === "entity"; }).length;
  var relations = links.filter(function (l) { return l.kind === "relation"; });
  var invalid = relations.filter(function (l) { return !l.valid; }).length;
  document.getElementById("stats").textContent = (nodes.length - entities) + " memories · " + entities +
    " entities · " + relations.length + " relations (" + invalid + " invalidated)";

  function visibleNode(n) { return show.memories || n.kind !== "memory"; }
  function visibleLink(l) {
    if (l.kind === "relation" && !l.valid && !show.invalid) { return false; }
    return visibleNode(nodes[l.s]) && visibleNode(nodes[l.t]);
  }

  // Force layout: springs on links, repulsion between nodes in neighbouring grid cells (linear
  // in the node count), and a weak pull to the centre; it cools and stops by itself.
  var alpha = 1, cell = 60;
  function tick() {
    var grid = {}, i, n, key;
    nodes.forEach(function (n, idx) {
      if (!visibleNode(n)) { return; }
      key = Math.floor(n.x / cell) + "," + Math.floor(n.y / cell);
      (grid[key] = grid[key] || []).push(idx);
    });
    nodes.forEach(function (a, ia) {
      if (!visibleNode(a)) { return; }
      var cx = Math.floor(a.x / cell), cy = Math.floor(a.y / cell), dx, dy, d2, f, bucket, j, b;
      for (var gx = cx - 1; gx <= cx + 1; gx++) {
        for (var gy = cy - 1; gy <= cy + 1; gy++) {
          bucket = grid[gx + "," + gy]; if (!bucket) { continue; }
          for (j = 0; j < bucket.length; j++) {
            if (bucket[j] <= ia) { continue; }
            b = nodes[bucket[j]]; dx = b.x - a.x; dy = b.y - a.y; d2 = dx * dx + dy * dy + 0.01;
            if (d2 > cell * cell) { continue; }
            f = 900 / d2 * alpha; dx *= f; dy *= f;
            a.vx -= dx; a.vy -= dy; b.vx += dx; b.vy += dy;
          }
        }
      }
    });
    links.forEach(function (l) {
      if (!visibleLink(l)) { return; }
      var a = nodes[l.s], b = nodes[l.t], dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
      var rest = l.kind === "relation" ? 110 : 45, f = (d - rest) / d * 0.04 * alpha;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    });
    for (i = 0; i < nodes.length; i++) {
      n = nodes[i];
      if (n.fixed) { n.vx = n.vy = 0; continue; }
      n.vx -= n.x * 0.002 * alpha; n.vy -= n.y * 0.002 * alpha;
      n.vx *= 0.6; n.vy *= 0.6;
      n.x += Math.max(-30, Math.min(30, n.vx)); n.y += Math.max(-30, Math.min(30, n.vy));
    }
    alpha *= 0.985;
  }

  function toScreen(x, y) { return [x * view.k + view.x, y * view.k + view.y]; }
  function toWorld(x, y) { return [(x - view.x) / view.k, (y - view.y) / view.k]; }

  function matches(n) {
    if (!highlight) { return true; }
    return String(n.label).toLowerCase().indexOf(highlight) >= 0;
  }

  function drawArrow(a, b, r) {
    var dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
    var tx = b.x - dx / d * (r + 2), ty = b.y - dy / d * (r + 2), s = 7 / view.k;
    ctx.beginPath(); ctx.moveTo(tx, ty);
    ctx.lineTo(tx - dx / d * s - dy / d * s * 0.5, ty - dy / d * s + dx / d * s * 0.5);
    ctx.lineTo(tx - dx / d * s + dy / d * s * 0.5, ty - dy / d * s - dx / d * s * 0.5);
    ctx.closePath(); ctx.fill();
  }

  function draw() {
    var w = canvas.clientWidth, h = canvas.clientHeight;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.setTransform(dpr * view.k, 0, 0, dpr * view.k, dpr * view.x, dpr * view.y);
    links.forEach(function (l) {
      if (!visibleLink(l)) { return; }
      var a = nodes[l.s], b = nodes[l.t];
      ctx.setLineDash(l.kind === "relation" && !l.valid ? [6 / view.k, 4 / view.k] : []);
      ctx.strokeStyle = l.kind === "relation" ? (l.valid ? "#404a5c" : "#d0463b") : "#c3c9d3";
      ctx.lineWidth = (l.kind === "relation" ? 1.6 : 0.8) / view.k;
      ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
      if (l.kind === "relation") {
        ctx.fillStyle = ctx.strokeStyle; drawArrow(a, b, b.r);
        if (view.k > 0.7) {
          ctx.font = (10 / view.k) + "px system-ui, sans-serif"; ctx.fillStyle = "#5a6272";
          ctx.fillText(l.label, (a.x + b.x) / 2 + 3 / view.k, (a.y + b.y) / 2 - 3 / view.k);
        }
      }
    });
    ctx.setLineDash([]);
    nodes.forEach(function (n) {
      if (!visibleNode(n)) { return; }
      ctx.globalAlpha = matches(n) ? 1 : 0.15;
      ctx.fillStyle = n.color; ctx.strokeStyle = n === hover ? "#111" : "#fff"; ctx.lineWidth = 1.5 / view.k;
      ctx.beginPath();
      if (n.kind === "entity") { ctx.arc(n.x, n.y, n.r, 0, 2 * Math.PI); }
      else { ctx.rect(n.x - n.r, n.y - n.r, 2 * n.r, 2 * n.r); }
      ctx.fill(); ctx.stroke();
      if (n.kind === "entity" && view.k > 0.45) {
        ctx.font = "600 " + (11 / view.k) + "px system-ui, sans-serif"; ctx.fillStyle = "#1d2330";
        ctx.fillText(n.label, n.x + n.r + 3 / view.k, n.y + 4 / view.k);
      }
    });
    ctx.globalAlpha = 1;
  }

  function fit() {
    var xs = nodes.filter(visibleNode), w = canvas.clientWidth, h = canvas.clientHeight - 50;
    if (!xs.length) { view = { x: w / 2, y: h / 2 + 50, k: 1 }; return; }
    var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    xs.forEach(function (n) {   // a loop, not Math.min.apply: that overflows the stack on big graphs
      minX = Math.min(minX, n.x); maxX = Math.max(maxX, n.x); minY = Math.min(minY, n.y); maxY = Math.max(maxY, n.y);
    });
    minX -= 40; maxX += 80; minY -= 40; maxY += 40;
    var k = Math.min(2, w / (maxX - minX), h / (maxY - minY));
    view = { k: k, x: w / 2 - (minX + maxX) / 2 * k, y: 50 + h / 2 - (minY + maxY) / 2 * k };
  }

  function resize() {
    canvas.width = canvas.clientWidth * dpr; canvas.height = canvas.clientHeight * dpr; draw();
  }

  var frames = 0, settled = false;
  function loop() {
    for (var s = 0; s < 2; s++) { tick(); }
    frames++;
    if (frames % 10 === 0 || alpha < 0.02) { fit(); }
    draw();
    if (alpha > 0.02) { requestAnimationFrame(loop); }
    else { settled = true; document.body.setAttribute("data-settled", "true"); }
  }

  var hover = null, drag = null, pan = null;
  function nodeAt(px, py) {
    var p = toWorld(px, py), best = null, bestD = Infinity;
    nodes.forEach(function (n) {
      if (!visibleNode(n)) { return; }
      var d = Math.hypot(n.x - p[0], n.y - p[1]);
      if (d < n.r + 3 / view.k && d < bestD) { best = n; bestD = d; }
    });
    return best;
  }
  function describe(n) {
    var lines = [], d = n.detail;
    Object.keys(d).forEach(function (k) { if (d[k] !== "" && k !== "name") { lines.push(k + ": " + d[k]); } });
    return lines.join("\\n");
  }
  canvas.addEventListener("mousemove", function (e) {
    if (drag) { var p = toWorld(e.offsetX, e.offsetY); drag.x = p[0]; drag.y = p[1]; draw(); return; }
    if (pan) { view.x = pan.vx + e.clientX - pan.x; view.y = pan.vy + e.clientY - pan.y; draw(); return; }
    var n = nodeAt(e.offsetX, e.offsetY);
    if (n !== hover) { hover = n; draw(); }
    if (!n) { tip.style.display = "none"; return; }
    tip.innerHTML = "";
    var head = document.createElement("b"); head.textContent = (n.kind === "entity" ? n.label + " (" + (n.type || "entity") + ")" : n.label);
    var body = document.createElement("div"); body.textContent = describe(n);
    tip.appendChild(head); tip.appendChild(body);
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 440) + "px"; tip.style.top = (e.clientY + 14) + "px";
    tip.style.display = "block";
  });
  canvas.addEventListener("mousedown", function (e) {
    var n = nodeAt(e.offsetX, e.offsetY);
    if (n) { drag = n; n.fixed = true; } else { pan = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y }; }
  });
  window.addEventListener("mouseup", function () { if (drag) { drag.fixed = false; } drag = null; pan = null; });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var f = Math.exp(-e.deltaY * 0.0015), p = toWorld(e.offsetX, e.offsetY);
    view.k = Math.max(0.05, Math.min(8, view.k * f));
    view.x = e.offsetX - p[0] * view.k; view.y = e.offsetY - p[1] * view.k; draw();
  }, { passive: false });
  document.getElementById("showMemories").addEventListener("change", function (e) {
    show.memories = e.target.checked; fit(); draw();
  });
  document.getElementById("showInvalid").addEventListener("change", function (e) { show.invalid = e.target.checked; draw(); });
  document.getElementById("find").addEventListener("input", function (e) { highlight = e.target.value.toLowerCase(); draw(); });
  window.addEventListener("resize", function () { resize(); });

  resize();
  if (nodes.length) { loop(); } else { document.body.setAttribute("data-settled", "true"); }
})();
</script>
</body>
</html>
"""
