// Relation clean-up and invalidation walk the relations of one entity tenant.
CREATE RANGE INDEX entity_tenant IF NOT EXISTS FOR (e:Entity) ON (e.tenant)
