// Record the schema version, once the migrations that reach it are done.
MERGE (meta:PowermemMeta {key: 'schema_version'})
SET meta.value = $version
