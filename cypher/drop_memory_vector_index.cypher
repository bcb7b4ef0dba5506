// The switch of a re-embed: the old dimension's index goes before the vectors change.
DROP INDEX memory_embedding IF EXISTS
