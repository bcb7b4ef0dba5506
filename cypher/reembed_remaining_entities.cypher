MATCH (e:Entity)
RETURN count(e) AS total, count(CASE WHEN e.reembed_name IS NULL OR e.reembed_name <> e.name THEN 1 END) AS left
