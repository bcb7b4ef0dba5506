// Legacy relations take their provenance (memory_id becomes memory_ids); those without any
// supporting memory are deleted (empty memory_ids).
UNWIND $rows AS row
MATCH ()-[r]->()
WHERE elementId(r) = row.element_id
CALL (r, row) {
  WITH r, row WHERE size(row.memory_ids) > 0
  SET r.memory_ids = row.memory_ids
  REMOVE r.memory_id
}
CALL (r, row) {
  WITH r, row WHERE size(row.memory_ids) = 0
  DELETE r
}
