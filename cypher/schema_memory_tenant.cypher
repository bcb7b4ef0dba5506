// (tenant, id): conversation neighbours are the previous/next ids within one tenant.
CREATE RANGE INDEX memory_tenant_id IF NOT EXISTS FOR (m:Memory) ON (m.tenant, m.id)
