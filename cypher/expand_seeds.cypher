// Seed entities of the graph tenant: those asked for, plus those the seed memories mention.
CALL () {
  UNWIND $entity_ids AS eid
  MATCH (e:Entity {id: eid})
  RETURN e
  UNION
  UNWIND $memory_ids AS mid
  MATCH (:Memory {id: mid})-[:MENTIONS]->(e:Entity)
  RETURN e
}
WITH e WHERE e.tenant = $tenant
RETURN e {.id, .name, .name_key, .type} AS e
