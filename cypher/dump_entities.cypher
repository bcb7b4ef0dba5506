// Backups: a page of entities in id order after the cursor $after (the id constraint's index).
MATCH (e:Entity)
WHERE e.id > $after
RETURN e {.id, .tenant, .name, .name_key, .type, .embedding, .created_at, .updated_at} AS row
ORDER BY e.id
LIMIT $limit
