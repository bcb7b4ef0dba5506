// New vectors beside the old ones (embedding_next; none for a zero vector), each marked with
// the hash of the text it was made from. A memory whose text changed meanwhile is skipped.
UNWIND $rows AS row
MATCH (m:Memory {id: row.id})
WHERE m.memory = row.text
SET m.reembed_hash = m.hash
WITH m, row
CALL (m, row) {
  WITH m, row WHERE row.embedding IS NULL
  REMOVE m.embedding_next
}
CALL (m, row) {
  WITH m, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(m, 'embedding_next', row.embedding)
}
