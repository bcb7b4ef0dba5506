// Relations of one graph tenant, newest first: valid now, or valid at $as_of (valid_at <= $as_of
// < invalid_at), or all with $include_invalid; with $run_id (a run inside a user/agent graph)
// only those asserted by a memory of that run. The hint keeps the provenance lookup on the
// memory id index: unhinted, the planner reads every memory of the run through run_id.
MATCH (a:Entity {tenant: $tenant})-[r]->(b:Entity)
WHERE ($include_invalid OR ($as_of IS NULL AND r.invalid_at IS NULL
    OR $as_of IS NOT NULL AND r.valid_at <= $as_of AND (r.invalid_at IS NULL OR r.invalid_at > $as_of)))
  AND ($run_id IS NULL OR EXISTS { MATCH (p:Memory) USING INDEX p:Memory(id) WHERE p.id IN r.memory_ids AND p.run_id = $run_id })
RETURN r.id AS id, a.name AS source, type(r) AS relationship, b.name AS destination, r.fact AS fact, r.memory_ids AS memory_ids, r.valid_at AS valid_at, r.invalid_at AS invalid_at, a.id AS source_id, b.id AS destination_id, r.created_at AS created_at, r.expired_at AS expired_at, coalesce(r.origin, 'llm') AS origin, r.family AS family
ORDER BY r.id DESC
LIMIT $limit
