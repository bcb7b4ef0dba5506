// Relations written before provenance: a single (possibly null) memory_id, no memory_ids.
MATCH (a:Entity)-[r]->(b:Entity)
WHERE r.memory_ids IS NULL
RETURN elementId(r) AS element_id, properties(r) AS props, type(r) AS relationship, a.tenant AS tenant,
       a.id AS source_id, b.id AS destination_id, a.name_key AS source_key, b.name_key AS destination_key
