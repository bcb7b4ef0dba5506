// Events carry their memory's scope, so ownership is checked even after a delete.
MATCH (ev:MemoryEvent {memory_id: $id})
WHERE ($user_id IS NULL OR ev.user_id = $user_id)
  AND ($agent_id IS NULL OR ev.agent_id = $agent_id)
  AND ($run_id IS NULL OR ev.run_id = $run_id)
RETURN ev {.id, .memory_id, .event, .old_memory, .new_memory, .created_at, .actor} AS ev
ORDER BY ev.id
