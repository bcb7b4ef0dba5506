"""The ``powermem`` argument parser: every command and its options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from powermem import __version__
from powermem.cli.args import CommandParser

__all__ = ["build_parser"]


def _common() -> argparse.ArgumentParser:
    common = CommandParser(add_help=False)
    scope = common.add_argument_group("scope")
    scope.add_argument("-u", "--user", metavar="ID", help="user_id")
    scope.add_argument("-a", "--agent", metavar="ID", help="agent_id")
    scope.add_argument("-r", "--run", metavar="ID", help="run_id")
    common.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    common.add_argument("-v", "--verbose", action="store_true", help="log what powermem does to stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="powermem", description="A graph + vector memory store for AI agents.",
                     epilog="Store selection: POWERMEM_STORE, POWERMEM_PATH, NEO4J_URI... (see docs/configuration.md)")
    parser.add_argument("--version", action="version", version=f"powermem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    common = _common()
    _memory_commands(commands, common)
    _bulk_commands(commands, common)
    shown = commands.add_parser("config", help="print the configuration commands use, as JSON (secrets masked)")
    shown.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    serve = commands.add_parser("serve", help="run the HTTP API (needs powermem-graph[server]); see docs/http.md")
    serve.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 8848)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request, and what powermem does")
    _mcp_command(commands)
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
    add.add_argument("--timestamp", metavar="TIME", help="when it was said: ISO-8601 or epoch seconds (default: now)")
    search = commands.add_parser("search", parents=[common], help="hybrid search, best first")
    search.add_argument("query")
    search.add_argument("-n", "--limit", type=int, default=10)
    search.add_argument("--threshold", type=float, help="minimum score in [0, 1]; 0.5 drops what is unrelated")
    search.add_argument("--filters", metavar="JSON", help='metadata filters, e.g. \'{"category": "food"}\'')
    search.add_argument("--as-of", metavar="TIME", help="as things were then: ISO-8601 or epoch seconds")
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
    listing.add_argument("--as-of", metavar="TIME", help="as things were then: ISO-8601 or epoch seconds")
    listing.add_argument("--include-invalidated", action="store_true",
                         help="show the graph's relations, superseded ones too, with their times")
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
    imp.add_argument("--resume", action="store_true",
                     help="full export files: import into a store that is not empty (finish an interrupted import)")
    imp.add_argument("--reembed", default="auto", choices=["auto", "always", "never"],
                     help="full export files: embed again (auto: only if the embedder differs)")
    exp = commands.add_parser("export", parents=[common], help="write memories as JSONL (import reads it back)")
    exp.add_argument("-o", "--out", type=Path, help="output file (default: stdout)")
    exp.add_argument("--full", action="store_true",
                     help="everything, every tenant: memories, entities, relations, history (a backup)")
    exp.add_argument("--filters", metavar="JSON")
    exp.add_argument("--keep-import-keys", action="store_true", help="keep the import_key metadata of imports")
    moved = commands.add_parser("reembed", help="move the store to the configured embedder in place (resumable)",
                                description="Embed every memory and entity again with the configured embedder "
                                            "and switch the store to it; see docs/operations.md.")
    moved.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    moved.add_argument("--batch-size", type=int, default=256, help="rows per transaction (default: 256)")
    moved.add_argument("--abort", action="store_true", help="give up a re-embed in progress; the old vectors stay")
    moved.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    moved.add_argument("--json", action="store_true", help="print the report as JSON")
    moved.add_argument("-v", "--verbose", action="store_true", help="log what powermem does to stderr")
    bak = commands.add_parser("backup", parents=[common], help="copy a live embedded store file (SQLite backup API)")
    bak.add_argument("dest", type=Path, help="the copy to write (must not exist)")
    graph = commands.add_parser("graph", help="export a tenant's graph").add_subparsers(
        dest="graph_command", required=True, metavar="COMMAND", parser_class=CommandParser)
    gexp = graph.add_parser("export", parents=[common], help="write the graph as GraphML or a standalone HTML page")
    gexp.add_argument("--format", required=True, choices=["graphml", "html"])
    gexp.add_argument("-o", "--out", type=Path, required=True)
    gexp.add_argument("-n", "--limit", type=int, help="at most this many memories, oldest first (default: all)")
    gexp.add_argument("--title", help="HTML page title")




def _mcp_command(commands: Any) -> None:
    mcp = commands.add_parser("mcp", help="serve the memory as Model Context Protocol tools (stdio or HTTP)",
                              description="A Model Context Protocol server with the memory tools; "
                                          "needs the server extra (pip install 'powermem-graph[server]').")
    mcp.add_argument("--transport", default="stdio", choices=["stdio", "http"],
                     help="stdio (default): for Claude Desktop, Cursor, Claude Code; http: streamable HTTP at /mcp")
    mcp.add_argument("--user-id", metavar="ID", help="default user of every tool call (else POWERMEM_USER_ID)")
    mcp.add_argument("--host", help="http: address to bind (default: 127.0.0.1; loopback only)")
    mcp.add_argument("--port", type=int, help="http: port (default: 8848; 0 picks a free one)")
    mcp.add_argument("--config", type=Path, metavar="FILE", help="JSON config, overlaid on the environment's")
    mcp.add_argument("-v", "--verbose", action="store_true", help="log requests and what powermem does to stderr")
