// The locked memories of the plan's scope, read only once apply_lock_memories holds their
// locks: a metadata patch is merged into what is stored now, not into what a concurrent
// writer is about to replace.
UNWIND $ids AS id
MATCH (m:Memory {id: id})
WHERE ($user_id IS NULL OR m.user_id = $user_id)
  AND ($agent_id IS NULL OR m.agent_id = $agent_id)
  AND ($run_id IS NULL OR m.run_id = $run_id)
RETURN m.id AS id, m.metadata AS metadata, m.user_id AS user_id, m.agent_id AS agent_id, m.run_id AS run_id
