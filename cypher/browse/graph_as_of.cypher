// A user's graph as of a date: their newest 100 memories created by then, the entities those
// memories mention, and the relations valid then (valid_at <= as_of < invalid_at). Times are
// stored as UTC ISO-8601 text, so a plain date stands for its midnight (UTC). Set both first:
//   :param user_id => 'alice'
//   :param as_of => '2023-05-31'
MATCH (m:Memory {user_id: $user_id})
WHERE m.created_at <= $as_of
WITH m ORDER BY m.id DESC LIMIT 100
OPTIONAL MATCH mention = (m)-[:MENTIONS]->(e:Entity)
OPTIONAL MATCH relation = (e)-[r]->(:Entity)
  WHERE r.valid_at <= $as_of AND (r.invalid_at IS NULL OR r.invalid_at > $as_of)
RETURN m, mention, relation
