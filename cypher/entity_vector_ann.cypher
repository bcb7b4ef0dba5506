// Approximate entity search with post-filtering on the graph tenant: the caller grows $fetch
// until k hits match, the index runs dry, or the worst score fetched is below its minimum.
CALL db.index.vector.queryNodes('entity_embedding', $fetch, $vector) YIELD node AS e, score
WITH count(*) AS fetched, collect(CASE WHEN e.tenant = $tenant THEN [e, score] END) AS hits, min(score) AS lowest
CALL (hits) {
  UNWIND hits[0..$k] AS hit
  WITH hit[0] AS e, hit[1] AS score
  // Only MENTIONS from memories exist, so the typed degree (a count, no traversal) is the number.
  RETURN collect([e {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(e) }}, score]) AS top
}
RETURN fetched, top AS hits, lowest
