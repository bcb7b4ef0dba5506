// Taken first by the migration transaction: a second process initializing the same store
// waits here, then finds the migration done.
MERGE (meta:PowermemMeta {key: 'graph_version'})
  ON CREATE SET meta.value = 0
SET meta.lock_ = true
REMOVE meta.lock_
