// One batch of the memories of a scope being deleted.
MATCH (m:Memory)
WHERE {{scope}}
RETURN m.id AS id
LIMIT $batch
