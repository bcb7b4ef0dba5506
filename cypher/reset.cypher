// Wipes every node (and so every relationship) in batches; the schema stays.
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
