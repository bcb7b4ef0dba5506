// $query is Lucene syntax built by the store from escaped, quoted terms, with or without the
// scope tokens; scope and filters are applied after, with the over-fetch the caller chose.
// `matched` (all that passed, before the cut to k) lets the caller size the next search.
CALL db.index.fulltext.queryNodes('memory_text', $query, {limit: $fetch}) YIELD node AS m, score
WITH count(*) AS fetched, collect(CASE WHEN {{where}} THEN [m.id, score] END) AS hits
RETURN fetched, size(hits) AS matched, hits[0..$k] AS hits
