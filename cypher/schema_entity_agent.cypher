CREATE RANGE INDEX entity_agent_id IF NOT EXISTS FOR (e:Entity) ON (e.agent_id)
