// Backups: the last id of the page of up to $limit entities after $after, and the page's size.
MATCH (a:Entity)
WHERE a.id > $after
WITH a ORDER BY a.id LIMIT $limit
RETURN max(a.id) AS upto, count(a) AS entities
