// Restore: relations by id, as dumped (one of the same id is replaced). The type comes through
// the dynamic-type syntax; the store has checked it against ^[A-Z][A-Z0-9_]{0,63}$. Rows
// whose ends do not exist return nothing.
UNWIND $rows AS row
MATCH (a:Entity {id: row.source_id})
MATCH (b:Entity {id: row.destination_id})
CALL (a, b, row) {
  // The relation of the same id joins the same ends (ids are never reused).
  OPTIONAL MATCH (a)-[old]->(b)
  WHERE old.id = row.id
  DELETE old
}
CREATE (a)-[r:$(row.relationship)]->(b)
SET r = row.props
RETURN row.id AS id
