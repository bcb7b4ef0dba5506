// Deletes of memories inside the scope (others behave as missing). The DELETE event keeps
// the scope fields, so history() can still check ownership once the memory is gone; a scope
// deletion ($events false) writes none, since it deletes the scope's history too.
UNWIND $rows AS row
MATCH (m:Memory {id: row.id})
WHERE ($user_id IS NULL OR m.user_id = $user_id)
  AND ($agent_id IS NULL OR m.agent_id = $agent_id)
  AND ($run_id IS NULL OR m.run_id = $run_id)
OPTIONAL MATCH (m)-[:MENTIONS]->(x:Entity)
WITH m, row, collect(x.id) AS linked
FOREACH (_ IN CASE WHEN $events THEN [1] ELSE [] END |
  CREATE (:MemoryEvent {
    id: row.event_id, memory_id: m.id, event: 'DELETE', old_memory: m.memory,
    created_at: $at, actor: $actor, user_id: m.user_id, agent_id: m.agent_id, run_id: m.run_id
  })
)
WITH m, linked, m.id AS id, m.memory AS old, m.user_id AS user_id, m.agent_id AS agent_id, m.run_id AS run_id
DETACH DELETE m
RETURN id, old, linked, user_id, agent_id, run_id
