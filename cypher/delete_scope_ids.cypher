MATCH (m:Memory)
WHERE {{scope}}
RETURN m.id AS id
