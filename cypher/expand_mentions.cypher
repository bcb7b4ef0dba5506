// For each visited entity: how many memories mention it (its degree, uncapped) and the
// newest few of those in scope (capped, so a hub cannot flood the subgraph).
UNWIND $entity_ids AS eid
MATCH (e:Entity {id: eid})
CALL (e) {
  MATCH (m:Memory)-[:MENTIONS]->(e)
  WHERE {{scope}}
  WITH m ORDER BY m.id DESC
  LIMIT $per_entity
  RETURN collect(m.id) AS memory_ids
}
RETURN eid AS id, memory_ids, COUNT { ()-[:MENTIONS]->(e) } AS degree
