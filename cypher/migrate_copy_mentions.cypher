UNWIND $rows AS row
MATCH (m:Memory {id: row.memory_id})
MATCH (e:Entity {tenant: row.tenant, name_key: row.name_key})
MERGE (m)-[:MENTIONS]->(e)
