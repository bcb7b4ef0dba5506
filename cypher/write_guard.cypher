// First in every write transaction: a re-embed in progress refuses it, and so does a store
// re-embedded to another dimension since this process opened it.
OPTIONAL MATCH (r:PowermemMeta {key: 'reembed'})
OPTIONAL MATCH (d:PowermemMeta {key: 'dims'})
RETURN r.value AS target, d.value AS dims
