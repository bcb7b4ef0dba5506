// The entities of one (legacy) graph tenant, with everything a copy needs.
MATCH (e:Entity {tenant: $tenant})
RETURN e.id AS id, e.name AS name, e.name_key AS name_key, e.type AS type, e.embedding AS embedding,
       e.created_at AS created_at, e.updated_at AS updated_at
