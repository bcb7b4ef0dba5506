// Rows come back in the order of the requested ids.
UNWIND range(0, size($ids) - 1) AS i
MATCH (m:Memory {id: $ids[i]})
WHERE {{where}}
RETURN m {.id, .memory, .hash, .user_id, .agent_id, .run_id, .metadata, .created_at, .updated_at} AS m
ORDER BY i
