// Updates of memories inside the plan's scope; others behave as missing. The old text is
// read in this transaction for the UPDATE event and the caller's result. row.metadata is the
// stored metadata with the patch merged in, read after the memory was locked (apply_read_locked).
UNWIND $rows AS row
MATCH (m:Memory {id: row.id})
WHERE ($user_id IS NULL OR m.user_id = $user_id)
  AND ($agent_id IS NULL OR m.agent_id = $agent_id)
  AND ($run_id IS NULL OR m.run_id = $run_id)
WITH m, row, m.memory AS old
SET m.memory = coalesce(row.memory, m.memory),
    m.hash = coalesce(row.hash, m.hash),
    m.updated_at = row.updated_at
WITH m, row, old
CALL (m, row) {
  WITH m, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(m, 'embedding', row.embedding)
}
CALL (m, row) {
  // The new embedding is a zero vector: it has no cosine, so the memory keeps none.
  WITH m, row WHERE row.zero_embedding
  REMOVE m.embedding
}
CALL (m, row) {
  // The merged metadata replaces every md_* property (keys come from the node, not a query).
  WITH m, row WHERE row.metadata IS NOT NULL
  FOREACH (key IN [k IN keys(m) WHERE k STARTS WITH 'md_'] | REMOVE m[key])
  SET m.metadata = row.metadata
  SET m += row.md
}
CALL (m, row) {
  // Given entity keys replace the MENTIONS; the entities unlinked here may become orphans.
  OPTIONAL MATCH (m)-[link:MENTIONS]->(x:Entity) WHERE row.entity_keys IS NOT NULL
  DELETE link
  RETURN collect(x.id) AS unlinked
}
CALL (m, row) {
  UNWIND coalesce(row.entity_keys, []) AS key
  MATCH (e:Entity {tenant: row.graph_tenant, name_key: key})
  MERGE (m)-[:MENTIONS]->(e)
}
CREATE (:MemoryEvent {
  id: row.event_id, memory_id: m.id, event: 'UPDATE', old_memory: old, new_memory: m.memory,
  created_at: $at, actor: $actor, user_id: m.user_id, agent_id: m.agent_id, run_id: m.run_id
})
RETURN m.id AS id, old, unlinked
