// Memories after $after (id order) without a new vector for their current text: reembed_hash
// is the hash of the text the new vector was made from.
MATCH (m:Memory)
WHERE m.id > $after AND (m.reembed_hash IS NULL OR m.reembed_hash <> m.hash)
RETURN m.id AS id, m.memory AS text
ORDER BY m.id
LIMIT $limit
