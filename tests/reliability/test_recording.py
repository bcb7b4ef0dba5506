"""The statement recorders see every statement, and the injection check catches pasted values.

These make sure the fuzzer's "no value inside a statement" assertion has teeth: a store that
pasted a value (raw or escaped) into its SQL or Cypher would be caught.
"""

from __future__ import annotations

from typing import Any

import pytest

from powermem import AsyncMemory
from tests.support.recording import injected, record_statements

HOSTILE = "o'brien\"; DROP TABLE memories; --"


async def test_recorder_sees_the_statements_of_every_call(memory: AsyncMemory) -> None:
    async with record_statements(memory) as recorder:
        [record] = (await memory.add("Alice met Bob at Acme", user_id=HOSTILE, infer=False))["results"]
        after_add = len(recorder.statements)
        await memory.search("Alice", user_id=HOSTILE, filters={"role": {"in": [HOSTILE]}})
        await memory.get_all(user_id=HOSTILE, filters={"memory": {"contains": HOSTILE}})
        await memory.update(record["id"], content=HOSTILE, metadata={HOSTILE: HOSTILE})
        await memory.history(record["id"], user_id=HOSTILE)
        await memory.delete(record["id"], user_id=HOSTILE)
    assert after_add > 0 and len(recorder.statements) > after_add
    assert injected(recorder.statements, [HOSTILE]) == []


async def test_a_pasted_value_is_caught(memory: AsyncMemory, store_kind: str, monkeypatch: Any) -> None:
    if store_kind == "embedded":
        from powermem.stores.embedded import engine

        def pasting_scope_sql(scope: Any, params: list[Any], prefix: str = "", fields: Any = None) -> str:
            quoted = str(scope.user_id).replace("'", "''")  # "escaped" string building
            return f"{prefix}user_id = '{quoted}'"

        monkeypatch.setattr(engine, "scope_sql", pasting_scope_sql)
        async with record_statements(memory) as recorder:
            await memory.get_all(user_id=HOSTILE)
    else:
        store, _, _ = await memory._ready()
        async with record_statements(memory) as recorder:
            async with store._driver.session() as session:  # type: ignore[attr-defined]
                result = await session.run("RETURN '" + HOSTILE.replace("'", "\\'") + "' AS v")
                await result.consume()
    found = injected(recorder.statements, [HOSTILE])
    assert found and found[0][0] == HOSTILE


@pytest.mark.parametrize("value", ["'", "{}", ";", "a'b"])
def test_short_constants_of_the_stores_are_not_flagged(value: str) -> None:
    # Fragments that occur in the stores' own statement texts are ignored, not reported.
    assert injected(["SELECT json_type(metadata, ?) = 'text'", "MATCH (m:Memory {id: $id})"], [value]) == []
