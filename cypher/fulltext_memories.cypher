// $query is Lucene syntax built by the store from escaped, quoted terms plus the scope
// tokens; filters are applied after, with the same over-fetch as vector search.
CALL db.index.fulltext.queryNodes('memory_text', $query, {limit: $fetch}) YIELD node AS m, score
WITH count(*) AS fetched, collect(CASE WHEN {{where}} THEN [m.id, score] END) AS hits
RETURN fetched, hits[0..$k] AS hits
