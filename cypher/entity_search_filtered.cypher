// In-index filtered entity search (Cypher 25 SEARCH): the index declares e.tenant as its
// filter property (schema_entity_vector_filtered), so only the graph tenant is searched.
CYPHER 25
MATCH (e:Entity)
  SEARCH e IN (VECTOR INDEX entity_embedding FOR $vector WHERE e.tenant = $tenant LIMIT $k) SCORE AS score
RETURN [e {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(e) }}, score] AS hit
ORDER BY score DESC, e.id DESC
