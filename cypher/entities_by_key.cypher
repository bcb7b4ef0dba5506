// Entities of exactly one graph tenant, found through the (tenant, name_key) constraint index.
MATCH (e:Entity)
WHERE e.tenant = $tenant AND e.name_key IN $keys
RETURN e {.id, .name, .name_key, .type, mentions: COUNT { ()-[:MENTIONS]->(e) }} AS e
ORDER BY e.name_key, e.id
