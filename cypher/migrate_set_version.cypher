MATCH (meta:PowermemMeta {key: 'graph_version'})
SET meta.value = $version
