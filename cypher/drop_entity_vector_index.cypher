// An entity vector index filtered on other properties than the graph tenant (made by an
// earlier version): dropped so that it can be recreated filtered on e.tenant.
DROP INDEX entity_embedding IF EXISTS
