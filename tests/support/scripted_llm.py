"""A rule-driven stand-in for the LLM behind the scripted OpenAI server.

Extraction answers come from a table keyed by a phrase of the conversation; reconciliation
answers are computed from the prompt the pipeline really sent (facts, memories and relations
with their small ids), so tests check the id mapping end to end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_LINE = re.compile(r"^(\d+): (.*)$")
_RELATION = re.compile(r"^(\d+): (.*) -\[(.*)\]-> (.*)$")


def fact(facts: list[str], entities: list[tuple[str, str]], relations: list[tuple[str, str, str]]) -> dict[str, Any]:
    """An extraction answer: facts, (name, type) entities and (source, type, destination) relations."""
    return {
        "facts": facts,
        "entities": [{"name": n, "type": t} for n, t in entities],
        "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in relations],
    }


@dataclass
class Rule:
    """For a new fact containing ``fact``: ``event`` against the memory containing ``target``;
    relations of type ``contradicts`` (one type, or several) are reported as contradicted."""

    fact: str
    event: str
    target: str | None = None
    text: str | None = None
    contradicts: str | tuple[str, ...] | None = None


@dataclass
class ScriptedLLM:
    extractions: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        # The first user message holds the data; later ones are corrective retries.
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "New facts:" in user:
            self.calls.append("reconcile")
            return json.dumps(self.reconcile(user))
        self.calls.append("extract")
        for phrase, answer in self.extractions.items():
            if phrase in user:
                return json.dumps({"facts": [], "entities": [], "relations": [], **answer})
        assert system  # an extraction prompt always has instructions
        return json.dumps({"facts": [], "entities": [], "relations": []})

    def reconcile(self, prompt: str) -> dict[str, Any]:
        facts, memories, relations = _sections(prompt)
        decisions: list[dict[str, Any]] = []
        contradicted: list[int] = []
        for fact_id, fact in facts:
            rule = next((r for r in self.rules if r.fact in fact), None)
            if rule is None:
                decisions.append({"fact": fact_id, "event": "ADD", "target": None, "text": None})
                continue
            target = next((i for i, text in memories if rule.target and rule.target in text), None)
            decisions.append({"fact": fact_id, "event": rule.event, "target": target, "text": rule.text})
            if rule.contradicts:
                types = (rule.contradicts,) if isinstance(rule.contradicts, str) else rule.contradicts
                contradicted += [i for i, _, rel, _ in relations if rel in types]
        return {"decisions": decisions, "contradicted_relations": contradicted}


def _sections(prompt: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]], list[tuple[int, str, str, str]]]:
    parts = re.split(r"\n\n(?=Existing memories:|Existing relations:)", prompt)
    facts = [(int(m[1]), m[2]) for line in parts[0].splitlines() if (m := _LINE.match(line))]
    memories = [(int(m[1]), m[2]) for line in parts[1].splitlines() if (m := _LINE.match(line))]
    relations = [(int(m[1]), m[2], m[3], m[4]) for line in parts[2].splitlines() if (m := _RELATION.match(line))]
    return facts, memories, relations
