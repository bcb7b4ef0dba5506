// New entity vectors beside the old ones (embedding_next), marked with the name they embed.
UNWIND $rows AS row
MATCH (e:Entity {id: row.id})
WHERE e.name = row.text
SET e.reembed_name = e.name
WITH e, row
CALL (e, row) {
  WITH e, row WHERE row.embedding IS NULL
  REMOVE e.embedding_next
}
CALL (e, row) {
  WITH e, row WHERE row.embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(e, 'embedding_next', row.embedding)
}
