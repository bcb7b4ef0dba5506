// An entity's neighbourhood: the entity called $name (any case) of user $user_id, the entities
// it is related to within two hops of valid relations, and the memories that mention it.
//   :param user_id => 'alice'
//   :param name => 'Acme'
MATCH (e:Entity {user_id: $user_id})
WHERE toLower(e.name) = toLower(trim($name)) OR e.name_key = toLower(trim($name))
OPTIONAL CALL (e) {
  MATCH path = (e)-[rs*1..2]-(:Entity)
  WHERE none(r IN rs WHERE type(r) = 'MENTIONS' OR r.invalid_at IS NOT NULL)
  RETURN path LIMIT 100
  UNION
  MATCH path = (:Memory)-[:MENTIONS]->(e)
  RETURN path LIMIT 50
}
RETURN e, path
