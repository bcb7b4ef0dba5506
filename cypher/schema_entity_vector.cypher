// Unquantized, and built with a wider search: at 100,000 memories in segments merged 4 at a
// time, Lucene's int8 codes found 0.33 of the true 50 nearest, full vectors 0.81, and an
// ef_construction of 200 (Neo4j's is 100) 0.875, for a quarter slower writes (docs/neo4j.md).
CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (e:Entity) ON (e.embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false, `vector.hnsw.ef_construction`: 200}}
