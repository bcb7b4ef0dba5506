// The graph schema version of the store (absent: written by a version before graph tenancy).
OPTIONAL MATCH (meta:PowermemMeta {key: 'graph_version'})
RETURN meta.value AS version
