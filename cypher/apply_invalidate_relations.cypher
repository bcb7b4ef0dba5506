// Outdated relations are kept and marked, not deleted; the first invalidation time stays.
MATCH (a:Entity {tenant: $entity_tenant})-[r]->(:Entity)
WHERE r.id IN $ids AND r.invalid_at IS NULL
SET r.invalid_at = $at
