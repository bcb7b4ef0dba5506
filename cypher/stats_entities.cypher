MATCH (e:Entity)
WHERE {{scope}}
RETURN e.user_id AS user_id, e.agent_id AS agent_id, count(e) AS entities,
       sum(COUNT { (e)-[r]->(:Entity) WHERE r.invalid_at IS NULL }) AS relations
