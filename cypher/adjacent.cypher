// Conversation neighbours: previous ids (nearest first), then next ids, within the memory's
// own tenant, read in order from the (tenant, id) range index. Ordering by both index
// properties is what lets the planner read the index in order and stop after $window rows;
// ordering by id alone made it fetch the whole tenant's earlier (or later) memories and sort.
UNWIND range(0, size($ids) - 1) AS i
MATCH (m:Memory {id: $ids[i]})
WHERE {{scope}}
CALL (m) {
  MATCH (n:Memory)
  WHERE n.tenant = m.tenant AND n.id < m.id
  WITH n ORDER BY n.tenant DESC, n.id DESC LIMIT $window
  RETURN collect(n.id) AS before
}
CALL (m) {
  MATCH (n:Memory)
  WHERE n.tenant = m.tenant AND n.id > m.id
  WITH n ORDER BY n.tenant ASC, n.id ASC LIMIT $window
  RETURN collect(n.id) AS after
}
RETURN m.id AS id, before + after AS neighbours
ORDER BY i
