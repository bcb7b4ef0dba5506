// Restore: history events by id, as dumped.
UNWIND $rows AS row
MERGE (ev:MemoryEvent {id: row.id})
SET ev = row
