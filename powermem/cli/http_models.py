"""The HTTP API's request bodies, and the response shapes its OpenAPI page documents.

Request bodies forbid unknown fields, so a misspelt ``user_ld`` is a 422 rather than an
unscoped call. Values are checked by the library itself (the same limits and messages as
the Python API); these models only give the bodies their shape. Responses are documented
here but not validated on the way out: they are the library's records, ids as strings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AddBody", "ErrorBody", "SearchBody", "UpdateBody"]

_Id = Field(None, description="Scope: at least one of user_id, agent_id, run_id (or the key's user).")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddBody(_Body):
    messages: str | dict[str, Any] | list[dict[str, Any]] = Field(
        ..., description='A string (one user message), {"role", "content"}, or a list of such (OpenAI format).'
    )
    user_id: str | None = _Id
    agent_id: str | None = _Id
    run_id: str | None = _Id
    metadata: dict[str, Any] | None = Field(None, description="Stored with each memory, returned exactly.")
    filters: dict[str, Any] | None = Field(None, description="Which existing memories the LLM may update.")
    infer: bool = Field(True, description="Let the LLM distil facts; false stores each message as given.")
    timestamp: str | float | None = Field(
        None, description="When the messages were said: ISO-8601 or epoch seconds; default now. "
                          "A message's own timestamp key wins.")


class SearchBody(_Body):
    query: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    limit: int = Field(30, description="1..1,000")
    threshold: float | None = Field(None, description="Minimum score in [0, 1]; 0.5 drops what is unrelated to the query.")
    as_of: str | float | None = Field(
        None, description="ISO-8601 or epoch seconds: as things were then (memories created by then, "
                          "relations valid then).")


class UpdateBody(_Body):
    content: str | None = Field(None, description="New text: re-embedded, entity links refreshed.")
    metadata: dict[str, Any] | None = Field(None, description="Merged into the stored metadata; null removes a key.")


# -- documented responses ------------------------------------------------------------------------


class MemoryOut(BaseModel):
    id: str = Field(..., description="A 64-bit id as a decimal string (JSON numbers lose digits past 2**53).")
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str


class AddedOut(MemoryOut):
    event: Literal["ADD", "UPDATE", "DELETE"]
    previous_memory: str | None = None


class RelationOut(BaseModel):
    source: str
    relationship: str
    destination: str
    valid_at: str | None = Field(None, description="Listing with as_of or include_invalidated: true from (world time).")
    invalid_at: str | None = Field(None, description="... no longer true from (world time); null: still true.")
    created_at: str | None = Field(None, description="... written at (system time).")
    expired_at: str | None = Field(None, description="... invalidated at (system time).")
    family: str | None = Field(None, description="... its type family (e.g. 'residence'), when the LLM named one.")


class AddOut(BaseModel):
    results: list[AddedOut]
    relations: dict[str, list[RelationOut]] = Field(..., description="added_entities, deleted_entities")


class ScoredOut(MemoryOut):
    score: float
    scores: dict[str, float]


class ScoredRelationOut(RelationOut):
    score: float


class SearchOut(BaseModel):
    results: list[ScoredOut]
    relations: list[ScoredRelationOut]


class ListOut(BaseModel):
    results: list[MemoryOut]
    relations: list[RelationOut]
    total: int


class HistoryOut(BaseModel):
    id: str
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_memory: str | None
    new_memory: str | None
    created_at: str


class DeletedOut(BaseModel):
    id: str
    deleted: bool


class DeletedAllOut(BaseModel):
    deleted: int


class EntityOut(BaseModel):
    id: str
    name: str
    type: str


class GraphRelationOut(RelationOut):
    id: str
    source_id: str
    destination_id: str
    fact: str
    memory_ids: list[str] = Field(..., description="The memories that assert it.")
    valid_at: str
    invalid_at: str | None = Field(..., description="Set when a later memory contradicted it.")
    origin: str = Field(..., description="What extracted it: 'llm', or 'offline' (no LLM: patterns or spaCy).")


class MentionOut(BaseModel):
    memory_id: str
    entity_id: str


class GraphOut(BaseModel):
    memories: list[MemoryOut]
    entities: list[EntityOut]
    mentions: list[MentionOut]
    relations: list[GraphRelationOut]
    truncated: bool = Field(..., description="True when the scope has more memories than limit.")


class ErrorDetail(BaseModel):
    type: str = Field(..., description="InvalidInputError, InvalidFilterError, StoreError, NotFound...")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
