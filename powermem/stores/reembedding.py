"""What both stores say about a store's embedder: the dimension check at open, and the rule
that a store being re-embedded (``powermem reembed``) takes no writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from powermem.errors import ConfigError, StoreError

__all__ = ["ReembedState", "check_dims", "describe", "refuse_write"]


@dataclass(frozen=True)
class ReembedState:
    """What a store says when opened for a re-embed."""

    dims: int | None  # the dimension of its vectors now (None: a new, empty store)
    target: dict[str, Any] | None  # the embedder a re-embed in progress moves it to
    switching: bool = False  # Neo4j: the re-embed was stopped while switching the vectors in


def describe(target: dict[str, Any]) -> str:
    model = f" {target['model']}" if target.get("model") else ""
    return f"{target.get('provider')}{model} ({target.get('dims')} dimensions)"


def check_dims(where: str, stored: int, dims: int, target: dict[str, Any] | None) -> None:
    """Raise ConfigError unless an embedder of ``dims`` may use a store holding ``stored``."""
    if stored == dims:
        return
    if target is not None and int(target.get("dims", -1)) == dims:
        raise ConfigError(
            f"{where} is being re-embedded to {describe(target)}; it still searches with its {stored}-dimensional "
            "vectors until the re-embed ends: run `powermem reembed` with this embedder to finish it, or open "
            "the store with the old embedder meanwhile"
        )
    raise ConfigError(
        f"{where} holds {stored}-dimensional embeddings but the embedder makes {dims}; use the same embedder, "
        "move the store to this one with `powermem reembed`, or use a new store"
    )


def refuse_write(where: str, target: dict[str, Any]) -> StoreError:
    return StoreError(
        f"{where} is being re-embedded to {describe(target)} and takes no writes until that ends; "
        "run `powermem reembed` to finish it (or `powermem reembed --abort` to give it up)"
    )
