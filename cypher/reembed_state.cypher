// A re-embed in progress (powermem reembed): its target embedder (JSON) and phase ('writing'
// new vectors beside the old, or 'switching' them in), and the dimension the store records.
OPTIONAL MATCH (r:PowermemMeta {key: 'reembed'})
OPTIONAL MATCH (d:PowermemMeta {key: 'dims'})
RETURN r.value AS target, r.phase AS phase, d.value AS dims
