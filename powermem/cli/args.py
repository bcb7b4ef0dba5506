"""What every command shares: its errors, scope and JSON options, and the configuration it opens."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NoReturn

from powermem.config import MemoryConfig, auto_config
from powermem.config_compat import translate
from powermem.errors import ConfigError

__all__ = ["CommandParser", "NotFound", "UsageError", "json_arg", "load_config", "scope_args"]


class UsageError(Exception):
    """Bad command-line usage: exit status 2."""


class NotFound(Exception):
    """The memory asked for does not exist in this scope: exit status 1."""


class CommandParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- configuration ------------------------------------------------------------------------------


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def load_config(path: Path | None) -> MemoryConfig:
    """``auto_config()`` with the JSON file's values on top (the file wins)."""
    config = auto_config()
    if path is not None:
        try:
            overlay = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config {path} line {exc.lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(overlay, dict):
            raise ConfigError(f"config {path} must hold a JSON object")
        # A mem0/PowerMem-shaped file (vector_store, embedder...) is put in powermem's shape
        # first, so that its sections lay over the environment's instead of beside them.
        config = _merge(config, translate(overlay))
    return MemoryConfig.from_any(config)


def json_arg(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc.msg} (column {exc.colno})") from None


def scope_args(args: argparse.Namespace) -> dict[str, str | None]:
    return {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}




def time_arg(text: str | None) -> str | float | None:
    """A time option: a number is epoch seconds; anything else goes to the library as ISO-8601
    text (which names the accepted forms when it is neither)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text
