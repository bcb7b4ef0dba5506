// Relations supported by a deleted memory go with it. Relationship types are dynamic, so no
// property index can find them: walk the relations of the memory's own entity tenant.
UNWIND $groups AS g
MATCH (a:Entity {tenant: g.tenant})-[r]->(b:Entity)
WHERE r.memory_id IN g.memory_ids
WITH r, a.id AS source_id, b.id AS destination_id
DELETE r
RETURN source_id, destination_id
