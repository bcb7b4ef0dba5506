MATCH (r:PowermemMeta {key: 'reembed'})
SET r.phase = $phase
