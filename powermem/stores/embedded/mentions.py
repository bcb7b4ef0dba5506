"""How many memories mention each entity, for search to tell hub names (``is_hub``).

The count reads the entity's every mention (an index range), so a name that most of a large
tenant mentions costs time in proportion: 2 ms a search at 200,000 memories, 25 ms at a
million. Counts of names mentioned by ``LARGE`` or more memories are reused for up to a
minute, as the search engine reuses the tenant size it compares them with: such a count
moves by a small share in a minute, and the hub test compares it with half the tenant.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Sequence

LARGE = 2_000
TTL = 60.0  # seconds
_ENTRIES = 4_096


class MentionCounts:
    def __init__(self) -> None:
        self._large: OrderedDict[int, tuple[float, int]] = OrderedDict()  # entity id -> (when, count)

    def clear(self) -> None:
        self._large.clear()

    def of(self, conn: sqlite3.Connection, entity_ids: Sequence[int]) -> dict[int, int]:
        """Entity id -> memories mentioning it, for the ids that exist."""
        now = time.monotonic()
        found: dict[int, int] = {}
        for entity_id in entity_ids:
            cached = self._large.get(entity_id)
            if cached is not None and now - cached[0] < TTL:
                found[entity_id] = cached[1]
        missing = [i for i in entity_ids if i not in found]
        if missing:
            counted = conn.execute(
                "SELECT id, (SELECT count(*) FROM mentions WHERE mentions.entity_id = entities.id) FROM entities "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(missing),),
            ).fetchall()
            for entity_id, count in counted:
                found[entity_id] = count
                if count >= LARGE:
                    self._remember(entity_id, now, count)
        return found

    def _remember(self, entity_id: int, now: float, count: int) -> None:
        self._large[entity_id] = (now, count)
        self._large.move_to_end(entity_id)
        if len(self._large) > _ENTRIES:
            self._large.popitem(last=False)
