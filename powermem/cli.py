"""The ``powermem`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from powermem.errors import PowermemError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="powermem", description="A graph + vector memory store for AI agents.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="store a short conversation offline and search it")
    demo.add_argument("--path", type=Path, help="folder for the demo store (default: a new temporary folder)")
    demo.add_argument("--embedding", default="local", choices=["local", "hashing"], help="embedding provider")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from powermem.demo import run_demo

            asyncio.run(run_demo(sys.stdout, args.path, args.embedding))
    except PowermemError as exc:
        print(f"powermem: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
