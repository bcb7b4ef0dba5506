// Start a re-embed (or find the one in progress): from now on writes are refused.
MERGE (r:PowermemMeta {key: 'reembed'})
  ON CREATE SET r.value = $target, r.phase = 'writing'
RETURN r.value AS target, r.phase AS phase
