// Restore: memories by id, as dumped, with their md_* filter properties and their MENTIONS
// (replacing those of a memory of the same id). No history event: events are restored as dumped.
UNWIND $rows AS row
MERGE (m:Memory {id: row.id})
WITH m, row
FOREACH (key IN [k IN keys(m) WHERE k STARTS WITH 'md_'] | REMOVE m[key])
SET m.memory = row.memory, m.hash = row.hash,
    m.user_id = row.user_id, m.agent_id = row.agent_id, m.run_id = row.run_id, m.tenant = row.tenant,
    m.scope_tokens = row.scope_tokens, m.metadata = row.metadata,
    m.created_at = row.created_at, m.updated_at = row.updated_at
SET m += row.md
WITH m, row
CALL (m, row) {
  WITH m, row WHERE row.embedding IS NULL
  REMOVE m.embedding
}
CALL (m, row) {
  WITH m, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(m, 'embedding', row.embedding)
}
CALL (m) {
  OPTIONAL MATCH (m)-[link:MENTIONS]->(:Entity)
  DELETE link
}
CALL (m, row) {
  UNWIND row.entity_ids AS entity_id
  MATCH (e:Entity {id: entity_id})
  MERGE (m)-[:MENTIONS]->(e)
}
