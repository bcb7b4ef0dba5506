// New memories with their md_* filter properties, their ADD event and their MENTIONS (of
// entities of the memory's own graph tenant only).
UNWIND $rows AS row
CREATE (m:Memory {
  id: row.id, memory: row.memory, hash: row.hash,
  user_id: row.user_id, agent_id: row.agent_id, run_id: row.run_id, tenant: row.tenant,
  scope_tokens: row.scope_tokens, metadata: row.metadata,
  created_at: row.created_at, updated_at: row.updated_at
})
SET m += row.md
CREATE (:MemoryEvent {
  id: row.event_id, memory_id: row.id, event: 'ADD', new_memory: row.memory,
  created_at: $at, actor: $actor,
  user_id: row.user_id, agent_id: row.agent_id, run_id: row.run_id
})
WITH m, row
CALL (m, row) {
  // float32 storage: half the bytes of a list of floats, so exact scans read half as much.
  // A zero vector has no cosine: it is not stored (the store sends null for it).
  WITH m, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(m, 'embedding', row.embedding)
}
CALL (m, row) {
  UNWIND row.entity_keys AS key
  MATCH (e:Entity {tenant: row.graph_tenant, name_key: key})
  MERGE (m)-[:MENTIONS]->(e)
}
