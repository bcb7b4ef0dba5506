// The dimension of the store's vectors, recorded once so that a write from a process opened
// before a re-embed switched the store can tell (write_guard).
MERGE (d:PowermemMeta {key: 'dims'})
  ON CREATE SET d.value = $dims
