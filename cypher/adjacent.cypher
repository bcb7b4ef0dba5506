// Conversation neighbours: previous ids (nearest first), then next ids, within the memory's
// own tenant, read in order from the (tenant, id) range index.
UNWIND range(0, size($ids) - 1) AS i
MATCH (m:Memory {id: $ids[i]})
WHERE {{scope}}
CALL (m) {
  MATCH (n:Memory)
  WHERE n.tenant = m.tenant AND n.id < m.id
  WITH n ORDER BY n.id DESC LIMIT $window
  RETURN collect(n.id) AS before
}
CALL (m) {
  MATCH (n:Memory)
  WHERE n.tenant = m.tenant AND n.id > m.id
  WITH n ORDER BY n.id ASC LIMIT $window
  RETURN collect(n.id) AS after
}
RETURN m.id AS id, before + after AS neighbours
ORDER BY i
