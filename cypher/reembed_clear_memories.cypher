// Giving up a re-embed: the new vectors and their markers go; the old vectors stay.
MATCH (m:Memory)
WHERE m.reembed_hash IS NOT NULL OR m.embedding_next IS NOT NULL
CALL (m) { REMOVE m.embedding_next, m.reembed_hash } IN TRANSACTIONS OF $batch ROWS
