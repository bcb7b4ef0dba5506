// Which of $ids are memories of the scope passing the filters: ids only, for a check that
// needs no rows (is each vector hit inside an as_of?).
UNWIND $ids AS id
MATCH (m:Memory {id: id})
WHERE {{where}}
RETURN collect(m.id) AS ids
