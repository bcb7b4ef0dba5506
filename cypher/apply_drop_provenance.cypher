// Deleted memories leave the provenance of every relation (valid or invalidated) of their
// graph tenant; a relation left with none is deleted. Relationship types are dynamic, so no
// property index can find them: walk the relations of each graph tenant.
UNWIND $groups AS g
MATCH (a:Entity {tenant: g.tenant})-[r]->(b:Entity)
WHERE any(x IN r.memory_ids WHERE x IN g.memory_ids)
SET r.memory_ids = [x IN r.memory_ids WHERE NOT x IN g.memory_ids]
WITH r, a.id AS source_id, b.id AS destination_id
CALL (r) {
  WITH r WHERE size(r.memory_ids) = 0
  DELETE r
}
RETURN source_id, destination_id
