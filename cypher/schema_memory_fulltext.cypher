// scope_tokens holds one opaque token per scope field, so full-text queries can be restricted
// to a tenant inside Lucene instead of over-fetching hits from every tenant.
CREATE FULLTEXT INDEX memory_text IF NOT EXISTS FOR (m:Memory) ON EACH [m.memory, m.scope_tokens]
