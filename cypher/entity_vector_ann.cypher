CALL db.index.vector.queryNodes('entity_embedding', $fetch, $vector) YIELD node AS e, score
WITH count(*) AS fetched, collect(CASE WHEN {{scope}} THEN [e {.id, .name, .name_key, .type}, score] END) AS hits,
     min(score) AS lowest
RETURN fetched, hits[0..$k] AS hits, lowest
