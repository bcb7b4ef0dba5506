// A user's graph: their newest 100 memories, the entities those memories mention, and the
// valid relations between those entities. Set the user first:
//   :param user_id => 'alice'
MATCH (m:Memory {user_id: $user_id})
WITH m ORDER BY m.id DESC LIMIT 100
OPTIONAL MATCH mention = (m)-[:MENTIONS]->(e:Entity)
OPTIONAL MATCH relation = (e)-[r]->(:Entity)
  WHERE r.invalid_at IS NULL
RETURN m, mention, relation
