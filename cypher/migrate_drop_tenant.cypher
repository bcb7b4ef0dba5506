MATCH (e:Entity {tenant: $tenant})
DETACH DELETE e
