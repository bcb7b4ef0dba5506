// Every tenant in the database with its number of memories and entities: the Browser twin of
// `powermem stats`. No parameters.
MATCH (m:Memory)
WITH m.user_id AS user_id, m.agent_id AS agent_id, count(m) AS memories
CALL (user_id, agent_id) {
  MATCH (e:Entity)
  WHERE coalesce(e.user_id, '') = coalesce(user_id, '') AND coalesce(e.agent_id, '') = coalesce(agent_id, '')
  RETURN count(e) AS entities
}
RETURN user_id, agent_id, memories, entities
ORDER BY memories DESC
