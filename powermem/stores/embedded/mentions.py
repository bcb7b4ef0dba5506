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
from collections.abc import Sequence

from powermem.expiring import Expiring

LARGE = 2_000
TTL = 60.0  # seconds
_ENTRIES = 4_096


class MentionCounts:
    def __init__(self) -> None:
        self._large: Expiring[int, int] = Expiring(TTL, _ENTRIES)  # entity id -> count

    def clear(self) -> None:
        self._large.clear()

    def of(self, conn: sqlite3.Connection, entity_ids: Sequence[int]) -> dict[int, int]:
        """Entity id -> memories mentioning it, for the ids that exist."""
        found = {i: count for i in entity_ids if (count := self._large.get(i)) is not None}
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
                    self._large.put(entity_id, count)
        return found
