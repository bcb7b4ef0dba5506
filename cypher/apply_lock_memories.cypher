// Write-lock the memories that an apply updates or deletes, in id order, before reading
// them. Under read-committed isolation a concurrent update or delete of the same memory is
// then waited for and seen by the statements that follow: an update reads the text it
// really replaces, and a memory deleted meanwhile is found missing, not deleted twice.
UNWIND $ids AS id
MATCH (m:Memory {id: id})
SET m.lock_ = true
REMOVE m.lock_
