// Backups: what the store holds, per section (a full restore goes into an empty store).
CALL () { MATCH (m:Memory) RETURN count(m) AS memories }
CALL () { MATCH (e:Entity) RETURN count(e) AS entities }
CALL () { MATCH (:Entity)-[r]->(:Entity) RETURN count(r) AS relations }
CALL () { MATCH (ev:MemoryEvent) RETURN count(ev) AS events }
RETURN memories, entities, relations, events
