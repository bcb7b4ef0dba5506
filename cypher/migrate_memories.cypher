// The scope fields of the given memories (those that still exist).
MATCH (m:Memory)
WHERE m.id IN $ids
RETURN m.id AS id, m.user_id AS user_id, m.agent_id AS agent_id, m.run_id AS run_id
