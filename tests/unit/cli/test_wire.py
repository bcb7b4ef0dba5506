from __future__ import annotations

import json

from powermem.cli.wire import error_status, error_type, to_wire
from powermem.errors import InvalidFilterError, LLMError, StoreError


def test_ids_leave_as_strings_everywhere_they_occur() -> None:
    big = 7391024480123904001
    result = {"results": [{"id": big, "memory": "x", "score": 0.5, "metadata": {"id": 3}}],
              "relations": [{"source": "a", "memory_ids": [big, big + 1]}],
              "events": [{"id": 1, "memory_id": big, "event": "ADD"}]}
    wired = to_wire(result)
    assert wired["results"][0]["id"] == str(big)
    assert wired["relations"][0]["memory_ids"] == [str(big), str(big + 1)]
    assert wired["events"][0] == {"id": "1", "memory_id": str(big), "event": "ADD"}
    assert json.loads(json.dumps(wired))["results"][0]["id"] == "7391024480123904001"
    assert wired["results"][0]["score"] == 0.5
    assert wired["results"][0]["metadata"] == {"id": 3}


def test_booleans_and_non_ids_are_left_alone() -> None:
    assert to_wire({"id": True, "deleted": 2, "name": None}) == {"id": True, "deleted": 2, "name": None}


def test_errors_map_to_status_and_type() -> None:
    assert error_status(InvalidFilterError("bad")) == 400
    assert error_status(StoreError("down")) == 503
    assert error_status(LLMError("x", status=500)) == 503
    assert error_status(RuntimeError("boom")) == 500
    assert error_type(InvalidFilterError("bad")) == "InvalidFilterError"
