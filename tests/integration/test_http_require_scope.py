"""With require_scope (what `powermem serve` sets), an unscoped HTTP read is a 400 that names it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx

from powermem.cli.http import create_app
from tests.support.http_server import serving


def test_unscoped_reads_are_400_and_scoped_ones_work(memory_config: dict[str, Any]) -> None:
    user = f"ada-{uuid.uuid4().hex}"  # the Neo4j store is shared between tests
    with serving(create_app({**memory_config, "require_scope": True})) as url:
        added = httpx.post(f"{url}/v1/memories", json={"messages": "Ada likes tea", "user_id": user,
                                                       "infer": False})
        assert added.status_code == 200, added.text
        memory_id = added.json()["results"][0]["id"]
        for method, path, body in [("GET", "/v1/memories", None),
                                   ("POST", "/v1/memories/search", {"query": "tea"}),
                                   ("GET", f"/v1/memories/{memory_id}", None),
                                   ("GET", f"/v1/memories/{memory_id}/history", None)]:
            answer = httpx.request(method, f"{url}{path}", json=body)
            assert answer.status_code == 400, (path, answer.text)
            assert "require_scope is on" in answer.json()["error"]["message"]
        listed = httpx.get(f"{url}/v1/memories", params={"user_id": user})
        assert listed.status_code == 200 and listed.json()["total"] == 1
