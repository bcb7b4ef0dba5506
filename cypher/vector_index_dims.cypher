// The dimension of each existing vector index, and whether it was created with filter
// properties (listed after the vector property) for in-index filtered SEARCH.
SHOW VECTOR INDEXES YIELD name, options, properties
WHERE name IN ['memory_embedding', 'entity_embedding']
RETURN name, options.indexConfig['vector.dimensions'] AS dims, size(properties) > 1 AS filtered
