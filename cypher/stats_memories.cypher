MATCH (m:Memory)
WHERE {{scope}}
RETURN m.user_id AS user_id, m.agent_id AS agent_id, count(m) AS memories
