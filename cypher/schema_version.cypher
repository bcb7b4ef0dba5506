// The store's schema version (absent: written before versions were recorded; see migration.py).
OPTIONAL MATCH (meta:PowermemMeta {key: 'schema_version'})
RETURN meta.value AS version
