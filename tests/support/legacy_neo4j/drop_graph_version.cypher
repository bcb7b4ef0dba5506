// Databases written before graph tenancy have no graph schema version.
MATCH (meta:PowermemMeta)
DELETE meta
