// The history of memories just deleted with their scope, found through the memory_id index.
UNWIND $ids AS mid
MATCH (ev:MemoryEvent {memory_id: mid})
DELETE ev
