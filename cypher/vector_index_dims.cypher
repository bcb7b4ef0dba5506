// Every vector index over Memory or Entity embeddings: its name (another index on the same
// property makes CREATE ... IF NOT EXISTS a silent no-op), its dimension, and whether it was
// created with filter properties (listed after the vector property) for in-index SEARCH.
SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, options
WHERE labelsOrTypes IN [['Memory'], ['Entity']] AND properties[0] = 'embedding'
RETURN name, labelsOrTypes[0] AS label, options.indexConfig['vector.dimensions'] AS dims,
       size(properties) > 1 AS filtered
