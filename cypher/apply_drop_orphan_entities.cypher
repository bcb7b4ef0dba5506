// Entities left with neither mentions nor relations (including entities of the plan that
// nothing ended up linking to).
UNWIND $ids AS eid
MATCH (e:Entity {id: eid})
WHERE NOT EXISTS { (e)--() }
DELETE e
