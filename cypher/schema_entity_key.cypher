// One node per real-world thing per tenant: concurrent MERGEs on (tenant, name_key) take the
// constraint's index lock, so two writers can never both create the same entity.
CREATE CONSTRAINT entity_tenant_name IF NOT EXISTS FOR (e:Entity) REQUIRE (e.tenant, e.name_key) IS UNIQUE
