// Approximate search with post-filtering: the caller grows $fetch until k hits match or
// the index has nothing more to give ($fetch larger than what came back). `matched` (all
// that passed, before the cut to k) lets the caller size the next search of this scope.
CALL db.index.vector.queryNodes('memory_embedding', $fetch, $vector) YIELD node AS m, score
WITH count(*) AS fetched, collect(CASE WHEN {{where}} THEN [m.id, score] END) AS hits
RETURN fetched, size(hits) AS matched, hits[0..$k] AS hits
