MATCH (e:Entity)
WHERE e.name_key IN $keys AND {{scope}}
RETURN e {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(e) }} AS e
ORDER BY e.name_key, e.id
