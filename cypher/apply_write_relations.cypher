// One valid relation per (source, type, destination) in a graph tenant: the plan's memories
// join the provenance of the one that exists, else the relation is created. The type comes
// from a parameter through the dynamic-type syntax; the store has already checked it against
// ^[A-Z][A-Z0-9_]{0,63}$. Rows whose ends do not exist return nothing (not written). A row
// already over when stated (row.invalid_at set) is a relation of its own.
UNWIND $rows AS row
MATCH (a:Entity {tenant: $tenant, name_key: row.source_key})
MATCH (b:Entity {tenant: $tenant, name_key: row.destination_key})
CALL (a, b, row) {
  OPTIONAL MATCH (a)-[old]->(b)
  WHERE type(old) = row.relationship AND old.invalid_at IS NULL AND row.invalid_at IS NULL
  WITH old ORDER BY old.id
  LIMIT 1
  RETURN old
}
CALL (old, row) {
  WITH old, row WHERE old IS NOT NULL
  SET old.memory_ids = coalesce(old.memory_ids, []) + [x IN row.memory_ids WHERE NOT x IN coalesce(old.memory_ids, [])]
}
CALL (a, b, old, row) {
  WITH a, b, old, row WHERE old IS NULL
  CREATE (a)-[:$(row.relationship) {
    id: row.id, name: row.relationship, fact: row.fact, memory_ids: row.memory_ids,
    valid_at: row.valid_at, invalid_at: row.invalid_at, created_at: row.created_at, origin: row.origin,
    family: row.family
  }]->(b)
}
RETURN row.id AS id
