"""Text analysis shared by ingest and search: names, search terms, word lists, the offline
name extractor. Pure functions of their input, linear in its size; nothing here imports the
rest of powermem."""
