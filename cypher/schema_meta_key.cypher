// Store-wide facts such as the graph schema version: one node per key, even when two
// processes initialize a new database at once.
CREATE CONSTRAINT powermem_meta_key IF NOT EXISTS FOR (n:PowermemMeta) REQUIRE n.key IS UNIQUE
