// The history of a scope being deleted: every event whose scope fields match, including those
// of memories deleted earlier (an empty scope: all history). One scan, committed in batches
// (an auto-commit query); run again, it deletes what is left, so a retry is harmless.
MATCH (ev:MemoryEvent)
WHERE ($user_id IS NULL OR ev.user_id = $user_id)
  AND ($agent_id IS NULL OR ev.agent_id = $agent_id)
  AND ($run_id IS NULL OR ev.run_id = $run_id)
CALL (ev) { DELETE ev } IN TRANSACTIONS OF 5000 ROWS
