MATCH (m:Memory {id: $id})
WHERE {{scope}}
RETURN m {.id, .memory, .hash, .user_id, .agent_id, .run_id, .metadata, .created_at, .updated_at} AS m
