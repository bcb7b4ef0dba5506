"""Pydantic models for the LLM's structured output, and their strict JSON schemas."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "FAMILIES",
    "Decision",
    "ExtractedEntity",
    "ExtractedFact",
    "ExtractedRelation",
    "Extraction",
    "Reconciliation",
    "response_format",
    "strict_json_schema",
    "tool_choice",
    "tool_definition",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractedEntity(_Strict):
    name: str = Field(description="The entity as it should be remembered, e.g. 'Alice' or 'Acme Corp'.")
    type: str = Field(description="A short lowercase category, e.g. person, organization, place, food.")


# The type families a relation may belong to. A fixed allow-list, not a free label: two adds
# must name the same family for the same kind of fact ("residence" today, not "home"
# tomorrow), or a new relation would stop seeing the old one it contradicts; an enum in the
# schema keeps the model's answers to one vocabulary. Only these plain words are ever stored.
Family = Literal["residence", "employment", "education", "partner", "membership", "ownership", "health", "preference"]
FAMILIES: tuple[str, ...] = get_args(Family)


class ExtractedRelation(_Strict):
    source: str = Field(description="Name of the source entity (one of the extracted entities).")
    relationship: str = Field(description="The relation in UPPER_SNAKE_CASE, e.g. WORKS_AT.")
    destination: str = Field(description="Name of the destination entity (one of the extracted entities).")
    valid_at: str | None = Field(
        None, description="ISO-8601 date or time from which it is true, when the conversation says; else null."
    )
    invalid_at: str | None = Field(
        None, description="ISO-8601 date or time from which it is no longer true, when the conversation says; else null."
    )
    family: Family | None = Field(
        None, description="The kind of fact it states, when one of the listed kinds fits (a new relation of a kind "
        "can replace an older one of the same kind, e.g. a new residence the old one); else null.",
    )

    @field_validator("family", mode="before")
    @classmethod
    def _known_family(cls, value: Any) -> Any:
        """A family outside the list is no family (the relation's lane stays as wide as without
        one) rather than a failed answer: the model gave a usable relation."""
        if isinstance(value, str) and value.strip().lower() in FAMILIES:
            return value.strip().lower()
        return None


class ExtractedFact(_Strict):
    text: str = Field(description="The fact: a short, self-contained statement.")
    valid_at: str | None = Field(
        None, description="ISO-8601 date or time the fact became true or happened, when the conversation says; "
        "else null.",
    )


class Extraction(_Strict):
    facts: list[ExtractedFact] = Field(default_factory=list, description="Self-contained facts worth remembering.")
    entities: list[ExtractedEntity] = Field(default_factory=list)
    relations: list[ExtractedRelation] = Field(default_factory=list)

    @field_validator("facts", mode="before")
    @classmethod
    def _plain_facts(cls, value: Any) -> Any:
        """A fact given as a plain string (a custom prompt's answer, an older model's habit) is
        a fact with no time of its own."""
        if isinstance(value, list):
            return [{"text": item} if isinstance(item, str) else item for item in value]
        return value


Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]


class Decision(_Strict):
    fact: int = Field(ge=0, description="0-based index of the new fact this decision is about.")
    event: Event
    target: int | None = Field(None, description="Id of the existing memory; required for UPDATE and DELETE.")
    text: str | None = Field(None, description="For UPDATE: the merged memory text.")

    @model_validator(mode="after")
    def _target_when_needed(self) -> Decision:
        if self.event in ("UPDATE", "DELETE") and self.target is None:
            raise ValueError(f"{self.event} needs 'target': the id of the existing memory")
        return self


class Reconciliation(_Strict):
    decisions: list[Decision] = Field(default_factory=list)
    contradicted_relations: list[int] = Field(
        default_factory=list, description="Ids of existing relations the new facts make false."
    )


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form OpenAI's strict structured outputs accept.

    Strict mode wants every object closed (``additionalProperties: false``), every property
    listed as required, and no ``default`` keywords; ``$ref`` are inlined because small
    local models follow a flat schema more reliably.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    result = _strict(_inline(schema, defs))
    assert isinstance(result, dict)
    return result


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = defs[ref.rsplit("/", 1)[-1]]
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return _inline({**target, **extra}, defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if k not in ("default", "properties")}
    if "properties" in node:
        out["properties"] = {name: _strict(sub) for name, sub in node["properties"].items()}
        out["additionalProperties"] = False
        out["required"] = list(node["properties"])
    return out


def response_format(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAI ``response_format`` asking for ``model`` as strict JSON schema output."""
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": strict_json_schema(model), "strict": True},
    }


def tool_definition(model: type[BaseModel]) -> dict[str, Any]:
    """One function whose parameters are ``model``'s schema: calling it is the answer.

    Not marked ``strict``: tools mode is for servers without structured outputs, and some
    of them reject the flag; the answer is validated here anyway.
    """
    return {
        "type": "function",
        "function": {
            "name": model.__name__,
            "description": f"Record the {model.__name__.lower()}. Call it exactly once with the complete answer.",
            "parameters": strict_json_schema(model),
        },
    }


def tool_choice(model: type[BaseModel]) -> dict[str, Any]:
    """``tool_choice`` forcing the call of :func:`tool_definition`'s function."""
    return {"type": "function", "function": {"name": model.__name__}}
