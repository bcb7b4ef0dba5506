// Exact cosine scan over the memories matching scope and filters, when there are fewer than
// $cap of them; otherwise only the (capped) count comes back and the caller uses the index.
// vector.similarity.cosine returns (1 + cos) / 2, like the index; the store converts back.
MATCH (m:Memory)
WHERE {{where}}
WITH m LIMIT $cap
WITH collect(m) AS candidates
CALL (candidates) {
  UNWIND CASE WHEN size(candidates) < $cap THEN candidates ELSE [] END AS m
  // Cosine is undefined for a zero vector (2025+ servers raise): such a memory has no
  // embedding property (the cosine of null is null), and such a query ($zero) scores
  // everything as cosine 0. The embedding is read once: reading it is most of the cost.
  WITH m, CASE WHEN $zero THEN 0.5
               ELSE coalesce(vector.similarity.cosine(m.embedding, $vector), 0.5) END AS score
  ORDER BY score DESC, m.id DESC
  LIMIT $k
  RETURN collect([m.id, score]) AS hits
}
RETURN size(candidates) AS candidates, hits
