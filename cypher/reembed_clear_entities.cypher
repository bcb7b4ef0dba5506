// Giving up a re-embed: the new entity vectors and their markers go.
MATCH (e:Entity)
WHERE e.reembed_name IS NOT NULL OR e.embedding_next IS NOT NULL
CALL (e) { REMOVE e.embedding_next, e.reembed_name } IN TRANSACTIONS OF $batch ROWS
