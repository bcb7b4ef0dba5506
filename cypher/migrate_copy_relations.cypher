// Copies of legacy shared-tenant relations, one per run, with that run's provenance. The type
// comes through the dynamic-type syntax (it was written through it, so it is already valid).
UNWIND $rows AS row
MATCH (a:Entity {tenant: row.tenant, name_key: row.source_key})
MATCH (b:Entity {tenant: row.tenant, name_key: row.destination_key})
CREATE (a)-[r:$(row.relationship)]->(b)
SET r = row.props
