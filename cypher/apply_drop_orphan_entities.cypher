// Entities left with neither mentions nor relations.
UNWIND $ids AS eid
MATCH (e:Entity {id: eid})
WHERE NOT EXISTS { (e)--() }
DELETE e
