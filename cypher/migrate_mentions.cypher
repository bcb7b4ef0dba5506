// The memories mentioning each of the given entities, with their scope fields.
UNWIND $entity_ids AS eid
MATCH (m:Memory)-[:MENTIONS]->(:Entity {id: eid})
RETURN eid AS entity_id, m.id AS memory_id, m.user_id AS user_id, m.agent_id AS agent_id, m.run_id AS run_id
