// Write-lock the memories that an apply updates, deletes or cites as a relation's provenance,
// in id order, before reading them. Under read-committed isolation a concurrent update or
// delete of the same memory is then waited for and seen by the statements that follow: an
// update reads the text and metadata it really replaces, and a memory deleted meanwhile is
// found missing, not deleted twice (nor cited by a relation that would outlive it).
UNWIND $ids AS id
MATCH (m:Memory {id: id})
SET m.lock_ = true
REMOVE m.lock_
