// Outdated relations of the plan's graph tenant are kept and marked, not deleted; only valid
// ones are marked (the first invalidation time stays), and those come back. invalid_at is world
// time (the new fact's valid_at), expired_at system time; a relation that became true after
// $invalid_at (a fact learnt out of order) is left alone.
MATCH (a:Entity {tenant: $tenant})-[r]->(:Entity)
WHERE r.id IN $ids AND r.invalid_at IS NULL AND r.valid_at <= $invalid_at
SET r.invalid_at = $invalid_at, r.expired_at = $at
RETURN r.id AS id
