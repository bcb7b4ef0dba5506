CALL db.index.vector.queryNodes('entity_embedding', $fetch, $vector) YIELD node AS e, score
WITH count(*) AS fetched, collect(CASE WHEN e.tenant = $tenant THEN [e, score] END) AS hits, min(score) AS lowest
// Only MENTIONS from memories exist, so the typed degree (a count, no traversal) is the number.
RETURN fetched, [hit IN hits[0..$k] | [hit[0] {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(hit[0]) }}, hit[1]]] AS hits, lowest
