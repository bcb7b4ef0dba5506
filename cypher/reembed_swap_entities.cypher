// As reembed_swap_memories, for entities.
MATCH (e:Entity)
WHERE e.reembed_name IS NOT NULL
CALL (e) {
  SET e.embedding = e.embedding_next
  REMOVE e.embedding_next, e.reembed_name
} IN TRANSACTIONS OF $batch ROWS
