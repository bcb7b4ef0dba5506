MATCH (m:Memory)
WHERE {{where}}
RETURN m {.id, .memory, .hash, .user_id, .agent_id, .run_id, .metadata, .created_at, .updated_at} AS m
ORDER BY m[$sort_by] ASC, m.id ASC
SKIP $offset LIMIT $limit
