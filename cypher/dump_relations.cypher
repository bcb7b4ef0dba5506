// Backups: the relations leaving the entities with ids in ($after, $upto], a page that
// dump_relation_cursor measured. Paged by source entity, which has an index (relationship ids
// have none). The type and every property come as stored.
MATCH (a:Entity)-[r]->(b:Entity)
WHERE a.id > $after AND a.id <= $upto
RETURN {id: r.id, source_id: a.id, destination_id: b.id, relationship: type(r), props: properties(r)} AS row
ORDER BY r.id
