DROP INDEX entity_embedding IF EXISTS
