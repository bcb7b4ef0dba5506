// Invalidated relations of user $user_id: facts that a later memory contradicted (e.g. an old
// address). powermem keeps them with invalid_at set and hides them from search; newest first.
//   :param user_id => 'alice'
MATCH path = (a:Entity {user_id: $user_id})-[r]->(b:Entity)
WHERE r.invalid_at IS NOT NULL
RETURN path, r.fact AS fact, r.valid_at AS valid_from, r.invalid_at AS invalid_from
ORDER BY r.invalid_at DESC
LIMIT 100
