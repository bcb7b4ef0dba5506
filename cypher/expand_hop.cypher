// One breadth-first step over valid entity-entity relations, in both directions. One query
// per hop (instead of a variable-length pattern) keeps the work linear in the edges seen:
// paths are never enumerated. $max_rows bounds what a hub can return.
UNWIND $frontier AS fid
MATCH (x:Entity {id: fid})-[r]-(y:Entity)
WHERE r.invalid_at IS NULL
WITH DISTINCT r, y
LIMIT $max_rows
MATCH (a:Entity)-[r]->(b:Entity)
RETURN r.id AS id, a.name AS source, type(r) AS relationship, b.name AS destination, r.fact AS fact, r.memory_id AS memory_id, r.valid_at AS valid_at, r.invalid_at AS invalid_at, a.id AS source_id, b.id AS destination_id, y {.id, .name, .name_key, .type} AS neighbour
