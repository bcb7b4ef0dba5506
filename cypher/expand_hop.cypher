// One breadth-first step over valid entity-entity relations (valid now, or at $as_of), in both directions. One query
// per hop (instead of a variable-length pattern) keeps the work linear in the edges seen:
// paths are never enumerated. $max_rows bounds what a hub can return. With $run_id (a run
// inside a user/agent graph) only relations asserted by a memory of that run are walked;
// provenance ids are looked up through the memory id index (hinted: unhinted, the planner
// reads every memory of the run through run_id).
UNWIND $frontier AS fid
MATCH (x:Entity {id: fid})-[r]-(y:Entity)
WHERE ($as_of IS NULL AND r.invalid_at IS NULL
       OR $as_of IS NOT NULL AND r.valid_at <= $as_of AND (r.invalid_at IS NULL OR r.invalid_at > $as_of))
  AND ($run_id IS NULL OR EXISTS { MATCH (p:Memory) USING INDEX p:Memory(id) WHERE p.id IN r.memory_ids AND p.run_id = $run_id })
WITH DISTINCT r, y
LIMIT $max_rows
MATCH (a:Entity)-[r]->(b:Entity)
RETURN r.id AS id, a.name AS source, type(r) AS relationship, b.name AS destination, r.fact AS fact, r.memory_ids AS memory_ids, r.valid_at AS valid_at, r.invalid_at AS invalid_at, a.id AS source_id, b.id AS destination_id, r.created_at AS created_at, r.expired_at AS expired_at, coalesce(r.origin, 'llm') AS origin, r.family AS family, y {.id, .name, .name_key, .type} AS neighbour
