// A memory's history: every ADD, UPDATE and DELETE event of memory $memory_id, oldest first,
// with its text before and after (a deleted memory keeps its history). Give the id as a
// string: memory ids are 64-bit and Browser parameters are JavaScript numbers.
//   :param memory_id => '7391024480123904001'
MATCH (ev:MemoryEvent {memory_id: toInteger($memory_id)})
RETURN ev.created_at AS at, ev.event AS event, ev.old_memory AS before, ev.new_memory AS after,
       ev.actor AS actor, ev.user_id AS user_id
ORDER BY ev.id
