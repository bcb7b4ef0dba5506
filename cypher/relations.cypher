MATCH (a:Entity)-[r]->(b:Entity)
WHERE {{scope}} AND ($include_invalid OR r.invalid_at IS NULL)
RETURN r.id AS id, a.name AS source, type(r) AS relationship, b.name AS destination, r.fact AS fact, r.memory_id AS memory_id, r.valid_at AS valid_at, r.invalid_at AS invalid_at, a.id AS source_id, b.id AS destination_id
ORDER BY r.id DESC
LIMIT $limit
