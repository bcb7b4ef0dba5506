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
import importlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TextIO

from powermem._memory import AsyncMemory
from powermem.cli import commands
from powermem.cli.args import NotFound, UsageError, load_config
from powermem.cli.output import print_json
from powermem.cli.parser import build_parser
from powermem.config import MemoryConfig
from powermem.errors import ConfigError, PowermemError

__all__ = ["main"]


# -- dispatch -----------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, AsyncMemory, TextIO], Awaitable[None]]


async def _run(args: argparse.Namespace, handler: Handler) -> None:
    config = load_config(args.config)
    async with AsyncMemory(config) as memory:
        await handler(args, memory, sys.stdout)


async def _serve_mcp(args: argparse.Namespace) -> None:
    try:
        mcp = importlib.import_module("powermem.cli.mcp")  # the server extra: imported only by this command
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("mcp", "uvicorn", "starlette"):
            raise
        raise ConfigError(f"powermem mcp needs the server extra: pip install 'powermem-graph[server]' "
                          f"(missing module {exc.name})") from None
    config = _scoped(load_config(args.config))
    user_id = args.user_id if args.user_id is not None else config.server.user_id
    level = "INFO" if args.verbose else "WARNING"
    if args.transport == "stdio":
        await mcp.serve_stdio(config, user_id, level)
    else:
        host = args.host if args.host is not None else config.server.host
        port = args.port if args.port is not None else config.server.port
        if not 0 <= port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {port}")
        await mcp.serve_http(config, user_id, host, port, level)


def _handler(args: argparse.Namespace) -> Handler:
    name = args.command if args.command != "graph" else f"graph_{args.graph_command}"
    handler: Handler = getattr(commands, "cmd_" + name.replace("-", "_"))
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
    logger.propagate = False  # a root handler (the MCP SDK installs one) would print each line twice


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
            from powermem.cli.demo import run_demo

            asyncio.run(run_demo(sys.stdout, args.path, args.embedding))
        elif args.command == "serve":
            _serve(args)
        elif args.command == "mcp":
            asyncio.run(_serve_mcp(args))
        elif args.command == "reembed":
            asyncio.run(commands.cmd_reembed(args, load_config(args.config), sys.stdout))
        elif args.command == "config":
            # JSON mode shows each SecretStr as ********** and a base_url's credentials as ***.
            print_json(load_config(args.config).model_dump(mode="json"), sys.stdout)
        else:
            asyncio.run(_run(args, _handler(args)))
        _flush_stdout()
    return status[0]


def _scoped(config: MemoryConfig) -> MemoryConfig:
    """serve and mcp hold every tenant's data: unscoped reads are refused unless config says False."""
    if config.require_scope is None:
        return config.model_copy(update={"require_scope": True})
    return config


def _serve(args: argparse.Namespace) -> None:
    config = _scoped(load_config(args.config))
    try:
        from powermem.cli.http import serve
    except ImportError as exc:
        if exc.name not in ("fastapi", "starlette", "uvicorn"):
            raise
        raise ConfigError(f"powermem serve needs the web stack ({exc.name} is missing): "
                         "pip install 'powermem-graph[server]'") from None
    serve(config, args.host, args.port, access_log=args.verbose)


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

