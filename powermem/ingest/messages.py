"""Turning the ``messages`` argument of ``add`` into validated chat messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from powermem._validate import bounded_text
from powermem.errors import InvalidInputError
from powermem.limits import MAX_MESSAGES
from powermem.when import point_in_time

_ROLES = frozenset({"user", "assistant", "system", "tool", "function", "developer"})


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None
    timestamp: str | None = None  # when it was said (canonical UTC), if the caller said


def parse_messages(messages: object) -> list[Message]:
    """Accept a string, one message dict, or a list of message dicts (OpenAI format).

    Each content (and name) is limited to 64 KiB of UTF-8 and a list to MAX_MESSAGES messages.
    """
    if isinstance(messages, str):
        return [Message("user", bounded_text(messages, "messages"))]
    if isinstance(messages, dict):
        return [_message(messages, "messages")]
    if isinstance(messages, list):
        if not messages:
            raise InvalidInputError("messages is an empty list")
        if len(messages) > MAX_MESSAGES:
            raise InvalidInputError(
                f"messages holds {len(messages):,} messages; one add() takes at most {MAX_MESSAGES:,} (the limit)"
            )
        return [_message(item, f"messages[{i}]") for i, item in enumerate(messages)]
    raise InvalidInputError(f"messages must be a str, a dict or a list of dicts, not {type(messages).__name__}")


def _message(item: object, where: str) -> Message:
    if not isinstance(item, dict):
        raise InvalidInputError(f"{where} must be a dict with 'role' and 'content', not {type(item).__name__}")
    if "content" not in item:
        raise InvalidInputError(f"{where} has no 'content'")
    content: Any = item["content"]
    if not isinstance(content, str):
        raise InvalidInputError(f"{where}['content'] must be a string, not {type(content).__name__}")
    role = item.get("role", "user")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidInputError(f"{where}['role'] must be one of {', '.join(sorted(_ROLES))}, got {role!r}")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInputError(f"{where}['name'] must be a string")
    bounded_text(content, f"{where}['content']")
    if name is not None:
        bounded_text(name, f"{where}['name']")
    return Message(role, content, name, point_in_time(item.get("timestamp"), f"{where}['timestamp']"))


def storable(messages: list[Message]) -> list[Message]:
    """The messages ``infer=False`` keeps: not system, with non-blank content."""
    return [m for m in messages if m.role != "system" and m.content.strip()]
