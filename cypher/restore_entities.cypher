// Restore: entities by id, as dumped (an entity of the same id is replaced). An entity of
// another id with the same (tenant, name_key) fails the uniqueness constraint: nothing is written.
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
SET e.tenant = row.tenant, e.name = row.name, e.name_key = row.name_key, e.type = row.type,
    e.user_id = row.user_id, e.agent_id = row.agent_id,
    e.created_at = row.created_at, e.updated_at = row.updated_at
WITH e, row
CALL (e, row) {
  WITH e, row WHERE row.embedding IS NULL
  REMOVE e.embedding
}
CALL (e, row) {
  WITH e, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(e, 'embedding', row.embedding)
}
