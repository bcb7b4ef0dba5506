"""Every size limit of the public API in one place (shared/API.md, "Limits").

Inputs beyond a limit raise InvalidInputError (or InvalidFilterError for filters), a
ValueError whose message names the limit, before anything is read or written. The limits
keep each call's work bounded and linear in its input, identical on both stores, and below
what either store can take: SQLite's expression depth (1,000) and parser stack, Python's
recursion limit, Neo4j's 64-bit integers and the cost of planning a long Cypher predicate.
"""

from __future__ import annotations

KIB = 1024

# Text: one message's content (and name), a search query, update(content=...), a string in
# a filter. Measured in UTF-8 bytes, the size the stores hold, not in characters.
MAX_TEXT_BYTES = 64 * KIB

# Messages in one add() call (not in API.md's list; it bounds one call at 64 MiB of text).
MAX_MESSAGES = 1_000

# The metadata argument, as compact UTF-8 JSON, and how deeply its containers nest (the
# metadata dict itself is level 1, so {"a": {"b": 1}} has depth 2). update() also keeps the
# merged metadata of a memory within MAX_METADATA_BYTES.
MAX_METADATA_BYTES = 64 * KIB
MAX_METADATA_DEPTH = 16

# Filters: nesting of filter objects (the top-level dict is level 1, each AND/OR/NOT operand
# one more), values in one in/nin list, and conditions (field-operator pairs) in one filter.
# The last is not in API.md's list: Neo4j's planner takes time superlinear in the number of
# conditions (1,000 ANDed conditions: about a minute to plan), so a filter stays small and
# long lists of values go through in/nin.
MAX_FILTER_DEPTH = 32
MAX_IN_VALUES = 10_000
MAX_FILTER_CONDITIONS = 100

# Page sizes.
MAX_SEARCH_LIMIT = 1_000
MAX_GET_ALL_LIMIT = 10_000

# Integers: memory ids, offsets and integer metadata or filter values are signed 64-bit, the
# range both SQLite and Neo4j store integers in.
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
INT64 = (INT64_MIN, INT64_MAX)

# user_id / agent_id / run_id, in characters.
MAX_ID_LENGTH = 256


def text_bytes(value: str) -> int:
    """UTF-8 bytes of ``value``, or its length when that alone is past MAX_TEXT_BYTES (every
    character is at least one byte, so a huge text is refused without encoding it).

    Raises UnicodeEncodeError for a lone surrogate, which no store can hold.
    """
    if len(value) > MAX_TEXT_BYTES or value.isascii():  # isascii reads a flag: no encoding
        return len(value)
    return len(value.encode("utf-8"))
