// Seed entities in scope: those asked for, plus those the seed memories mention.
CALL () {
  UNWIND $entity_ids AS eid
  MATCH (e:Entity {id: eid})
  RETURN e
  UNION
  UNWIND $memory_ids AS mid
  MATCH (:Memory {id: mid})-[:MENTIONS]->(e:Entity)
  RETURN e
}
WITH e WHERE {{scope}}
RETURN e {.id, .name, .name_key, .type} AS e
