// Copies of legacy shared-tenant entities into the graph tenant of one run.
UNWIND $rows AS row
MERGE (e:Entity {tenant: row.tenant, name_key: row.name_key})
  ON CREATE SET
    e.id = row.id, e.name = row.name, e.type = row.type, e.user_id = null, e.agent_id = null,
    e.created_at = row.created_at, e.updated_at = row.updated_at
WITH e, row
CALL (e, row) {
  WITH e, row WHERE e.embedding IS NULL AND row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(e, 'embedding', row.embedding)
}
