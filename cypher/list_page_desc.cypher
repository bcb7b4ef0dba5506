// The sort key is one of a fixed set of property names, checked by the store.
MATCH (m:Memory)
WHERE {{where}}
RETURN m {.id, .memory, .hash, .user_id, .agent_id, .run_id, .metadata, .created_at, .updated_at} AS m
ORDER BY m[$sort_by] DESC, m.id DESC
SKIP $offset LIMIT $limit
