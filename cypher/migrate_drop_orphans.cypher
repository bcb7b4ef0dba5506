// Entities with neither mentions nor relations (earlier versions could leave them behind).
MATCH (e:Entity)
WHERE NOT EXISTS { (e)--() }
DELETE e
