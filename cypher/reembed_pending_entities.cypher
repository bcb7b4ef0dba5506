// Entities after $after (id order) without a new vector for their name (reembed_name).
MATCH (e:Entity)
WHERE e.id > $after AND (e.reembed_name IS NULL OR e.reembed_name <> e.name)
RETURN e.id AS id, e.name AS text
ORDER BY e.id
LIMIT $limit
