"""Every prompt powermem sends, in one place.

A custom prompt from ``PromptConfig`` replaces the system instruction only; the data
(conversation, facts, ids, today's date) always travels in the user message, so a custom
instruction cannot lose it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "EXTRACTION_INSTRUCTION",
    "RECONCILIATION_INSTRUCTION",
    "extraction_messages",
    "reconciliation_messages",
]

EXTRACTION_INSTRUCTION = """\
You extract long-term memories from a conversation between a user and an assistant.

Return a JSON object with three lists:
- "facts": short, self-contained statements worth remembering later: preferences, plans,
  personal details, relationships, decisions, events with their dates. Each is an object
  with "text", the fact in the third person, naming who it is about (e.g. "Alice works at
  Acme"), never with "I", "my" or "the user", and "valid_at": when what it states became
  true or happened ("moved to Porto last June") as an absolute ISO-8601 date, else null.
  Resolve relative dates ("yesterday", "next Friday") against the date of the message that
  says it. Skip greetings, small talk, questions without an answer, and what the assistant
  merely suggested. Keep the language of the conversation.
- "entities": the people, organizations, places, things and concepts the facts mention,
  each with "name" (as written, proper capitalisation) and "type" (one short lowercase
  word such as person, organization, place, food, activity, product, pet, event).
- "relations": directed links between those entities, each with "source", "relationship"
  and "destination". "source" and "destination" are entity names from your list;
  "relationship" is a concise verb phrase in UPPER_SNAKE_CASE (WORKS_AT, LIVES_IN, LIKES,
  HAS_PET, MARRIED_TO). When the conversation says when a relation became true or stopped
  being true ("since June", "until 2019", "yesterday"), give "valid_at" / "invalid_at" as
  absolute ISO-8601 dates, resolved against the date of the message that says it; else null.
  Give "family" when the relation is one of these kinds, else null: residence (lives in),
  employment (works at, job), education (studies at), partner (married to, dating),
  membership (member of, plays for), ownership (owns, has pet), health, preference (likes,
  favourite). A new relation of a kind may replace an older one of the same kind.

The user's own statements ("I", "me", "my") are about the user: use the user's name given
below as the entity name for the user, in facts, entities and relations alike.
If nothing is worth remembering, return empty lists."""

RECONCILIATION_INSTRUCTION = """\
You keep a memory store consistent. You are given new facts, existing memories and
existing relations, each with a small integer id.

For every new fact, return one decision with "fact" (the new fact's id) and "event":
- "ADD": the fact is new information; "target" and "text" are null.
- "UPDATE": the fact refines or corrects an existing memory about the same thing; "target"
  is that memory's id and "text" the merged memory, keeping every detail still true.
- "DELETE": the fact shows an existing memory is no longer true and nothing should
  replace it; "target" is that memory's id.
- "NONE": the fact is already known (same meaning, maybe other words); nothing changes.
Use only ids shown below; never invent one. When a new fact contradicts a memory (a new
employer, a new city), prefer UPDATE of that memory over ADD plus DELETE.

Also return "contradicted_relations": the ids of existing relations that the new facts
make false (for example LIVES_IN Paris once the user moved to Berlin). Return an empty list
when none are."""


def extraction_messages(
    messages: Sequence[Mapping[str, Any]],
    user_label: str,
    today: str,
    custom: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking for an ``Extraction`` of ``messages`` (OpenAI chat format)."""
    # System messages instruct the assistant; they say nothing about the user worth keeping.
    spoken = [m for m in messages if m.get("role") != "system" and _content(m)]
    transcript = "\n".join(_transcript_line(m, user_label) for m in spoken)
    user = (
        f"Today's date: {today}\n"
        f"The user's name (use it for 'I', 'me', 'my'): {user_label}\n\n"
        f"Conversation:\n{transcript}"
    )
    return [{"role": "system", "content": custom or EXTRACTION_INSTRUCTION}, {"role": "user", "content": user}]


def reconciliation_messages(
    new_facts: Sequence[str],
    existing: Sequence[tuple[int, str]],
    relations: Sequence[tuple[int, str, str, str]],
    custom: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking for a ``Reconciliation``; ids are the caller's small integers."""
    facts = "\n".join(f"{i}: {fact}" for i, fact in enumerate(new_facts))
    memories = "\n".join(f"{mid}: {text}" for mid, text in existing) or "(none)"
    links = "\n".join(f"{rid}: {src} -[{rel}]-> {dst}" for rid, src, rel, dst in relations) or "(none)"
    user = f"New facts:\n{facts}\n\nExisting memories:\n{memories}\n\nExisting relations:\n{links}"
    return [{"role": "system", "content": custom or RECONCILIATION_INSTRUCTION}, {"role": "user", "content": user}]


def _content(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return str(content).strip() if content is not None else ""


def _transcript_line(message: Mapping[str, Any], user_label: str) -> str:
    role = str(message.get("role", "user"))
    name = message.get("name")
    # Naming the user on every line lets the model attribute "I" and "my" correctly.
    speaker = f"user ({name or user_label})" if role == "user" else (f"{role} ({name})" if name else role)
    # A message with its own time: relative dates in it resolve against that, not today.
    said = f"[{message['timestamp']}] " if message.get("timestamp") else ""
    return f"{said}{speaker}: {_content(message)}"
