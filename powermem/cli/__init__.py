"""Every way into powermem that is not a Python import: the ``powermem`` command line.

``main`` parses and dispatches; ``parser`` declares the commands; ``commands`` runs each one
against the API; ``output`` renders results; ``args`` holds what they share; ``demo`` is the
offline demo. ``python -m powermem.cli`` is the same program.
"""

from __future__ import annotations

from powermem.cli.args import UsageError, json_arg, load_config
from powermem.cli.main import main
from powermem.cli.parser import build_parser

__all__ = ["UsageError", "build_parser", "json_arg", "load_config", "main"]
