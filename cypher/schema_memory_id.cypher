// Memory ids are Snowflake ids; the constraint also gives the index every id lookup uses.
CREATE CONSTRAINT memory_id IF NOT EXISTS FOR (m:Memory) REQUIRE m.id IS UNIQUE
