// The entity vector index as versions before graph tenancy made it on 2026.x servers.
CYPHER 25
CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (e:Entity) ON (e.embedding)
WITH [e.user_id, e.agent_id]
OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine'}}
