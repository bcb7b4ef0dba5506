"""The extraction schema: facts with an optional time, relations with an optional type family."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from powermem.llm.prompts import EXTRACTION_INSTRUCTION
from powermem.llm.schemas import FAMILIES, Extraction, strict_json_schema


def test_a_plain_string_fact_is_a_fact_with_no_time() -> None:
    extraction = Extraction.model_validate({"facts": ["Alice likes tea", {"text": "Alice moved", "valid_at": "2023"}]})
    assert [(f.text, f.valid_at) for f in extraction.facts] == [("Alice likes tea", None), ("Alice moved", "2023")]


@pytest.mark.parametrize("bad", [[{"x": 1}], [{"text": "a", "when": "2023"}], [3], "Alice"])
def test_a_fact_of_another_shape_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        Extraction.model_validate({"facts": bad})


@pytest.mark.parametrize(
    ("given", "kept"),
    [("residence", "residence"), (" Employment ", "employment"), ("home", None), ("", None), (None, None),
     (3, None), ("residence'}]->() DETACH DELETE n //", None)],
)
def test_only_a_listed_family_is_kept(given: object, kept: str | None) -> None:
    relation = {"source": "Alice", "relationship": "LIVES_IN", "destination": "Paris", "family": given}
    [parsed] = Extraction.model_validate({"relations": [relation]}).relations
    assert parsed.family == kept


def test_the_schema_lists_the_families_and_the_fact_time() -> None:
    schema = strict_json_schema(Extraction)
    relation = schema["properties"]["relations"]["items"]
    assert relation["properties"]["family"]["anyOf"][0]["enum"] == list(FAMILIES)
    assert "family" in relation["required"]  # strict mode: every property listed, null allowed
    fact = schema["properties"]["facts"]["items"]
    assert fact["required"] == ["text", "valid_at"] and fact["additionalProperties"] is False


def test_the_extraction_instruction_names_every_family() -> None:
    assert all(f"{family} (" in EXTRACTION_INSTRUCTION or f"{family}," in EXTRACTION_INSTRUCTION
               or f"{family}." in EXTRACTION_INSTRUCTION for family in FAMILIES)
