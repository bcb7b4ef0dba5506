// Outdated relations of the plan's graph tenant are kept and marked, not deleted; only valid
// ones are marked (the first invalidation time stays), and those come back.
MATCH (a:Entity {tenant: $tenant})-[r]->(:Entity)
WHERE r.id IN $ids AND r.invalid_at IS NULL
SET r.invalid_at = $at
RETURN r.id AS id
