// The valid relations leaving given entities, each lane limited to its families (a relation
// with no family stays in every lane: its kind is unknown, not different), newest first. The
// family test runs in the query, before the bound, so relations of other families can never
// crowd a lane's own out of it. With $run_id only those asserted by a memory of that run.
UNWIND $lanes AS lane
MATCH (a:Entity {id: lane.source})-[r]->(b:Entity)
WHERE r.invalid_at IS NULL
  AND (lane.families IS NULL OR r.family IS NULL OR r.family IN lane.families)
  AND ($run_id IS NULL OR EXISTS { MATCH (p:Memory) USING INDEX p:Memory(id) WHERE p.id IN r.memory_ids AND p.run_id = $run_id })
RETURN r.id AS id, a.name AS source, type(r) AS relationship, b.name AS destination, r.fact AS fact, r.memory_ids AS memory_ids, r.valid_at AS valid_at, r.invalid_at AS invalid_at, a.id AS source_id, b.id AS destination_id, r.created_at AS created_at, r.expired_at AS expired_at, coalesce(r.origin, 'llm') AS origin, r.family AS family
ORDER BY r.id DESC
LIMIT $limit
