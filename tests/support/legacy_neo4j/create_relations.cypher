// The type comes from a parameter through the dynamic-type syntax; the store has already
// checked it against ^[A-Z][A-Z0-9_]{0,63}$.
UNWIND $rows AS row
MATCH (a:Entity {tenant: $entity_tenant, name_key: row.source_key})
MATCH (b:Entity {tenant: $entity_tenant, name_key: row.destination_key})
// A concurrent add may have stated the same fact after this plan was made: hold both ends'
// locks, then keep one valid relation per (source, type, destination).
SET a.lock_ = true, b.lock_ = true
REMOVE a.lock_, b.lock_
WITH a, b, row
WHERE NOT EXISTS { MATCH (a)-[r]->(b) WHERE type(r) = row.relationship AND r.invalid_at IS NULL }
CREATE (a)-[:$(row.relationship) {
  id: row.id, name: row.relationship, fact: row.fact, memory_id: row.memory_id,
  valid_at: row.valid_at, created_at: row.created_at
}]->(b)
