// Same plan as vector_exact: exact scan of a small graph tenant, else a capped count only.
MATCH (e:Entity)
WHERE e.tenant = $tenant
WITH e LIMIT $cap
WITH collect(e) AS candidates
CALL (candidates) {
  UNWIND CASE WHEN size(candidates) < $cap THEN candidates ELSE [] END AS e
  WITH e, CASE WHEN $zero THEN 0.5
               ELSE coalesce(vector.similarity.cosine(e.embedding, $vector), 0.5) END AS score
  ORDER BY score DESC, e.id DESC
  LIMIT $k
  RETURN collect([e {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(e) }}, score]) AS hits
}
RETURN size(candidates) AS candidates, hits
