// The memories a plan's relations cite, as they are once its creates and deletes are done:
// the store keeps only those of the plan's graph tenant as provenance.
MATCH (m:Memory)
WHERE m.id IN $ids
RETURN m.id AS id, m.user_id AS user_id, m.agent_id AS agent_id, m.run_id AS run_id
