// Wipes every node (and so every relationship) in batches; the schema stays, and so does the
// graph schema version (PowermemMeta), which describes the schema, not the data.
MATCH (n)
WHERE NOT n:PowermemMeta
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
