// An entity vector index to recreate: filtered on other properties than the graph tenant
// (made by an earlier version), or of the old dimension at the switch of a re-embed.
DROP INDEX entity_embedding IF EXISTS
