// Servers with the Cypher 25 SEARCH clause: the scope properties are declared as filter
// properties, so a tenant-restricted search is filtered inside the index.
CYPHER 25
CREATE VECTOR INDEX memory_embedding IF NOT EXISTS
FOR (m:Memory) ON (m.embedding)
WITH [m.user_id, m.agent_id, m.run_id]
OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false, `vector.hnsw.ef_construction`: 200}}
