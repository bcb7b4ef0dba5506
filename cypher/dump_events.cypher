// Backups: a page of history events in id order after the cursor $after.
MATCH (ev:MemoryEvent)
WHERE ev.id > $after
RETURN ev {.id, .memory_id, .event, .old_memory, .new_memory, .created_at, .actor, .user_id, .agent_id,
           .run_id} AS row
ORDER BY ev.id
LIMIT $limit
