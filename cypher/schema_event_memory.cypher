// History outlives its memory, so events are found by memory_id, not through a relationship.
CREATE RANGE INDEX memory_event_memory_id IF NOT EXISTS FOR (ev:MemoryEvent) ON (ev.memory_id)
