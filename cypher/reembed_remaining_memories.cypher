MATCH (m:Memory)
RETURN count(m) AS total, count(CASE WHEN m.reembed_hash IS NULL OR m.reembed_hash <> m.hash THEN 1 END) AS left
