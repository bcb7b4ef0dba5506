"""The embedded store: SQLite + numpy + bounded graph reads."""
