// The switch, once the old vector indexes are dropped: each memory's new vector replaces the
// old, in batches; a swapped memory loses its marker, so a rerun swaps only the rest.
MATCH (m:Memory)
WHERE m.reembed_hash IS NOT NULL
CALL (m) {
  SET m.embedding = m.embedding_next
  REMOVE m.embedding_next, m.reembed_hash
} IN TRANSACTIONS OF $batch ROWS
