// Backups: a page of memories in id order after the cursor $after, with the entities each mentions.
MATCH (m:Memory)
WHERE m.id > $after
WITH m ORDER BY m.id LIMIT $limit
RETURN m {.id, .memory, .hash, .user_id, .agent_id, .run_id, .metadata, .created_at, .updated_at, .embedding,
          entity_ids: COLLECT { MATCH (m)-[:MENTIONS]->(e:Entity) RETURN e.id }} AS row
ORDER BY m.id
