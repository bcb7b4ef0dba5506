// Every vector index over Memory or Entity embeddings: its name (another index on the same
// property makes CREATE ... IF NOT EXISTS a silent no-op), its dimension, and the filter
// properties it was created with (listed after the vector property) for in-index SEARCH,
// and whether it quantizes vectors (an index created before powermem turned that off).
SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, options
WHERE labelsOrTypes IN [['Memory'], ['Entity']] AND properties[0] = 'embedding'
RETURN name, labelsOrTypes[0] AS label, options.indexConfig['vector.dimensions'] AS dims,
       properties[1..] AS filters,
       coalesce(options.indexConfig['vector.quantization.enabled'], false) AS quantized
