CREATE RANGE INDEX memory_run_id IF NOT EXISTS FOR (m:Memory) ON (m.run_id)
