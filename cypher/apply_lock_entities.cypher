// Write-lock the end entities of the plan's relations, sorted by name_key, before looking for
// an existing relation: a concurrent plan stating the same fact is then waited for and seen,
// so the tenant keeps one valid relation holding both plans' memories.
UNWIND $keys AS key
MATCH (e:Entity {tenant: $tenant, name_key: key})
SET e.lock_ = true
REMOVE e.lock_
