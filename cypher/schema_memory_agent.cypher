CREATE RANGE INDEX memory_agent_id IF NOT EXISTS FOR (m:Memory) ON (m.agent_id)
