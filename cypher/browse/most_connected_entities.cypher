// The most connected entities of user $user_id: how many memories mention each one and how
// many valid relations it takes part in. A table; look one up with entity_neighbourhood.cypher.
//   :param user_id => 'alice'
MATCH (e:Entity {user_id: $user_id})
WITH e,
     COUNT { (:Memory)-[:MENTIONS]->(e) } AS mentions,
     COUNT { (e)-[r]-(:Entity) WHERE r.invalid_at IS NULL } AS relations
RETURN e.name AS entity, e.type AS type, mentions, relations
ORDER BY mentions + relations DESC, entity
LIMIT 25
