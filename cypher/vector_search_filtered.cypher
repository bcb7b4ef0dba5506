// In-index filtered search (Cypher 25 SEARCH), used when the only restriction is the scope.
CYPHER 25
MATCH (m:Memory)
  SEARCH m IN (VECTOR INDEX memory_embedding FOR $vector WHERE {{scope}} LIMIT $k) SCORE AS score
RETURN m.id AS id, score
ORDER BY score DESC, id DESC
