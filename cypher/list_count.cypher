MATCH (m:Memory)
WHERE {{where}}
RETURN count(m) AS total
