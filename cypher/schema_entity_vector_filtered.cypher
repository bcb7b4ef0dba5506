// The graph tenant is the filter property: entity lookups match it exactly (never a looser
// (user_id, agent_id) pair). An index made by an earlier version with other filter
// properties is dropped and recreated by initialize().
CYPHER 25
CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (e:Entity) ON (e.embedding)
WITH [e.tenant]
OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false, `vector.hnsw.ef_construction`: 200}}
