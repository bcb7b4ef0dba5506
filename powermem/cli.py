"""The ``powermem`` command line: argument parsing and dispatch to the API.

Every command opens the store the API would (``auto_config()``: environment and ``.env``),
optionally overlaid with ``--config FILE.json``. Results go to stdout as aligned tables, or
as JSON with ``--json``; errors are one ``powermem: ...`` line on stderr and a non-zero exit
status (1: the operation failed or found nothing, 2: bad usage, 130: interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from powermem import __version__
from powermem._memory import AsyncMemory
from powermem.cli_output import print_json
from powermem.config import MemoryConfig, auto_config
from powermem.errors import ConfigError, PowermemError

__all__ = ["build_parser", "load_config", "main"]


class UsageError(Exception):
    """Bad command-line usage: exit status 2."""


class NotFound(Exception):
    """The memory asked for does not exist in this scope: exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- parsing ------------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    scope = common.add_argument_group("scope")
    scope.add_argument("-u", "--user", metavar="ID", help="user_id")
    scope.add_argument("-a", "--agent", metavar="ID", help="agent_id")
    scope.add_argument("-r", "--run", metavar="ID", help="run_id")
    common.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    common.add_argument("-v", "--verbose", action="store_true", help="log what powermem does to stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="powermem", description="A graph + vector memory store for AI agents.",
                     epilog="Store selection: POWERMEM_STORE, POWERMEM_PATH, NEO4J_URI... (see docs/configuration.md)")
    parser.add_argument("--version", action="version", version=f"powermem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    common = _common()
    _memory_commands(commands, common)
    _bulk_commands(commands, common)
    shown = commands.add_parser("config", help="print the configuration commands use, as JSON (secrets masked)")
    shown.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    demo = commands.add_parser("demo", help="store a short conversation offline and search it")
    demo.add_argument("--path", type=Path, help="folder for the demo store (default: a new temporary folder)")
    demo.add_argument("--embedding", default="local", choices=["local", "hashing"], help="embedding provider")
    return parser


def _memory_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    add = commands.add_parser("add", parents=[common], help="store a message (text, or - for stdin)")
    add.add_argument("text")
    add.add_argument("--role", default="user", help="message role (default: user)")
    add.add_argument("--metadata", metavar="JSON", help='e.g. \'{"source": "cli"}\'')
    add.add_argument("--infer", action=argparse.BooleanOptionalAction, default=True,
                     help="let the LLM distil facts (default; without an LLM it stores the text as given)")
    search = commands.add_parser("search", parents=[common], help="hybrid search, best first")
    search.add_argument("query")
    search.add_argument("-n", "--limit", type=int, default=10)
    search.add_argument("--threshold", type=float, help="minimum score in [0, 1]")
    search.add_argument("--filters", metavar="JSON", help='metadata filters, e.g. \'{"category": "food"}\'')
    for name, text in (("get", "show one memory"), ("delete", "delete one memory"),
                       ("history", "a memory's ADD/UPDATE/DELETE events, oldest first")):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument("id", help="memory id")
    listing = commands.add_parser("list", parents=[common], help="list memories (get_all)")
    listing.add_argument("-n", "--limit", type=int, default=20)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--filters", metavar="JSON")
    listing.add_argument("--sort", default="created_at", choices=["created_at", "updated_at", "id", "memory"])
    listing.add_argument("--order", default="desc", choices=["asc", "desc"])
    update = commands.add_parser("update", parents=[common], help="change a memory's text and/or metadata")
    update.add_argument("id")
    update.add_argument("--content", help="new text")
    update.add_argument("--metadata", metavar="JSON", help="merged into the metadata; null removes a key")
    wipe = commands.add_parser("delete-all", parents=[common], help="delete every memory of a scope")
    wipe.add_argument("--all", action="store_true", help="with no scope: really delete every tenant's memories")
    commands.add_parser("stats", parents=[common], help="memories, entities and relations per tenant")


def _bulk_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    imp = commands.add_parser("import", parents=[common], help="bulk import JSONL or LoCoMo files (resumable)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", default="auto", choices=["auto", "jsonl", "locomo"])
    imp.add_argument("--batch-size", type=int, help="records per transaction (default: 256; 16 with --infer)")
    imp.add_argument("--infer", action="store_true", help="run each batch through the LLM pipeline")
    imp.add_argument("--fresh", action="store_true", help="ignore earlier progress: import everything again")
    imp.add_argument("--progress-file", type=Path, help="where resume state is kept (default: beside the store)")
    imp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    exp = commands.add_parser("export", parents=[common], help="write memories as JSONL (import reads it back)")
    exp.add_argument("-o", "--out", type=Path, help="output file (default: stdout)")
    exp.add_argument("--filters", metavar="JSON")
    exp.add_argument("--keep-import-keys", action="store_true", help="keep the import_key metadata of imports")
    graph = commands.add_parser("graph", help="export a tenant's graph").add_subparsers(
        dest="graph_command", required=True, metavar="COMMAND", parser_class=_Parser)
    gexp = graph.add_parser("export", parents=[common], help="write the graph as GraphML or a standalone HTML page")
    gexp.add_argument("--format", required=True, choices=["graphml", "html"])
    gexp.add_argument("-o", "--out", type=Path, required=True)
    gexp.add_argument("-n", "--limit", type=int, help="at most this many memories, oldest first (default: all)")
    gexp.add_argument("--title", help="HTML page title")


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
        config = _merge(config, overlay)
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


# -- dispatch -----------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, AsyncMemory, TextIO], Awaitable[None]]


async def _run(args: argparse.Namespace, handler: Handler) -> None:
    config = load_config(args.config)
    async with AsyncMemory(config) as memory:
        await handler(args, memory, sys.stdout)


def _handler(args: argparse.Namespace) -> Handler:
    from powermem import cli_commands

    name = args.command if args.command != "graph" else f"graph_{args.graph_command}"
    handler: Handler = getattr(cli_commands, "cmd_" + name.replace("-", "_"))
    return handler


@contextlib.contextmanager
def _errors() -> Iterator[list[int]]:
    """Maps failures to one stderr line and an exit status, kept in the yielded cell."""
    status = [0]
    try:
        yield status
    except UsageError as exc:
        status[0] = _fail(str(exc), 2)
    except (PowermemError, NotFound) as exc:
        status[0] = _fail(str(exc), 1)
    except BrokenPipeError:
        # `powermem export | head`: the reader left. Quiet, with the status a shell gives SIGPIPE.
        _silence_stdout()
        status[0] = 141
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        status[0] = _fail(f"{where}{exc.strerror or exc}", 1)
    except KeyboardInterrupt:
        status[0] = _fail("interrupted", 130)


def _log_to_stderr() -> None:
    # powermem's own loggers only: the drivers' debug chatter is not what -v asks for.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("powermem: %(message)s"))
    logger = logging.getLogger("powermem")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _fail(message: str, status: int) -> int:
    print(f"powermem: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    with _errors() as status:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0)
        if getattr(args, "verbose", False):
            _log_to_stderr()
        if args.command == "demo":
            from powermem.demo import run_demo

            asyncio.run(run_demo(sys.stdout, args.path, args.embedding))
        elif args.command == "config":
            # JSON mode shows each SecretStr as ********** and a base_url's credentials as ***.
            print_json(load_config(args.config).model_dump(mode="json"), sys.stdout)
        else:
            asyncio.run(_run(args, _handler(args)))
        _flush_stdout()
    return status[0]


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; pointing it at /dev/null keeps that flush quiet.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    # Run through the imported module, not this __main__ copy: the command modules raise the
    # exception classes of `powermem.cli`, which would otherwise be different classes here.
    from powermem.cli import main as _main

    raise SystemExit(_main())
