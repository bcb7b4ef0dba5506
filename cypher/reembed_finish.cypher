// The end of a re-embed (or of giving one up): the store's dimension is $dims, writes resume.
MERGE (d:PowermemMeta {key: 'dims'})
SET d.value = $dims
WITH d
OPTIONAL MATCH (r:PowermemMeta {key: 'reembed'})
DELETE r
