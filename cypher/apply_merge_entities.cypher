// Entities of the plan's graph tenant, MERGE'd on the (tenant, name_key) uniqueness constraint
// so that concurrent writers never duplicate them. Rows arrive sorted by name_key: one lock
// order for every writer keeps deadlocks rare (the driver retries the rest). ON MATCH writes
// too, so an entity of this plan stays locked until it commits. The ids come back so that an
// entity nothing links to in the end can be dropped.
UNWIND $rows AS row
MERGE (e:Entity {tenant: $tenant, name_key: row.name_key})
  ON CREATE SET
    e.id = row.id, e.name = row.name, e.type = row.type,
    e.user_id = $user_id, e.agent_id = $agent_id, e.created_at = $at, e.updated_at = $at
  ON MATCH SET e.updated_at = $at
WITH e, row
CALL (e, row) {
  // Only a new entity has no embedding yet. Stored as float32 (see apply_create_memories).
  WITH e, row WHERE e.embedding IS NULL AND row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(e, 'embedding', row.embedding)
}
RETURN e.id AS id
