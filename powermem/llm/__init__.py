"""LLM access: the shared retry policy, the structured-output client, prompts and schemas."""

from powermem.llm.client import LLMClient, Usage
from powermem.llm.retry import RetryPolicy, call_with_retry, retry_policy
from powermem.llm.schemas import (
    Decision,
    ExtractedEntity,
    ExtractedFact,
    ExtractedRelation,
    Extraction,
    Reconciliation,
    response_format,
    strict_json_schema,
)

__all__ = [
    "Decision",
    "ExtractedEntity",
    "ExtractedFact",
    "ExtractedRelation",
    "Extraction",
    "LLMClient",
    "Reconciliation",
    "RetryPolicy",
    "Usage",
    "call_with_retry",
    "response_format",
    "retry_policy",
    "strict_json_schema",
]
