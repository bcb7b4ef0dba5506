// Approximate search with post-filtering: the caller doubles $fetch until k hits match or
// the index has nothing more to give ($fetch larger than what came back).
CALL db.index.vector.queryNodes('memory_embedding', $fetch, $vector) YIELD node AS m, score
WITH count(*) AS fetched, collect(CASE WHEN {{where}} THEN [m.id, score] END) AS hits
RETURN fetched, hits[0..$k] AS hits
