"""One function per ``powermem`` command: call the API, hand the result to ``cli.output``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any, TextIO

from powermem import _admin
from powermem._memory import AsyncMemory
from powermem._validate import scope_of
from powermem.cli import output as cli_output
from powermem.cli.args import NotFound, UsageError, json_arg, scope_args, time_arg
from powermem.config import MemoryConfig
from powermem.stores.base import Scope


def _scope(args: argparse.Namespace) -> Scope:
    return scope_of(args.user, args.agent, args.run, required=False)


def _missing(args: argparse.Namespace) -> NotFound:
    owner = " ".join(f"{k}={v}" for k, v in scope_args(args).items() if v)
    return NotFound(f"no memory {args.id}" + (f" for {owner}" if owner else ""))


async def cmd_add(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise UsageError("nothing to add: the text is blank")
    added = await memory.add({"role": args.role, "content": text}, user_id=args.user, agent_id=args.agent, run_id=args.run,
                             metadata=json_arg(args.metadata, "--metadata"), infer=args.infer,
                             timestamp=time_arg(args.timestamp))
    if args.json:
        cli_output.print_json(added, out)
        return
    cli_output.render_records(added["results"], out, events=True)
    cli_output.render_relations(added["relations"]["added_entities"], out, "relations added")
    cli_output.render_relations(added["relations"]["deleted_entities"], out, "relations invalidated")


async def cmd_search(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    found = await memory.search(args.query, user_id=args.user, agent_id=args.agent, run_id=args.run, filters=json_arg(args.filters, "--filters"),
                                limit=args.limit, threshold=args.threshold, as_of=time_arg(args.as_of))
    if args.json:
        cli_output.print_json(found, out)
        return
    if not found["results"]:
        out.write("no memories found\n")
        return
    cli_output.render_records(found["results"], out, scores=True)
    cli_output.render_relations(found["relations"], out)


async def cmd_get(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    record = await memory.get(args.id, user_id=args.user, agent_id=args.agent)
    if record is None:
        raise _missing(args)
    cli_output.print_json(record, out) if args.json else cli_output.render_record(record, out)


async def cmd_list(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    page = await memory.get_all(user_id=args.user, agent_id=args.agent, run_id=args.run, limit=args.limit, offset=args.offset,
                                filters=json_arg(args.filters, "--filters"), sort_by=args.sort, order=args.order,
                                as_of=time_arg(args.as_of), include_invalidated=args.include_invalidated)
    if args.json:
        cli_output.print_json(page, out)
        return
    cli_output.render_records(page["results"], out)
    if args.include_invalidated:
        cli_output.render_timed_relations(page["relations"], out)
    shown = len(page["results"])
    out.write(f"\n{shown} of {page['total']} memories" + (f" (from {args.offset + 1})" if args.offset else "") + "\n")


async def cmd_update(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    if args.content is None and args.metadata is None:
        raise UsageError("update needs --content and/or --metadata")
    record = await memory.update(args.id, args.content, user_id=args.user, agent_id=args.agent,
                                 metadata=json_arg(args.metadata, "--metadata"))
    if record is None:
        raise _missing(args)
    cli_output.print_json(record, out) if args.json else cli_output.render_record(record, out)


async def cmd_delete(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    if not await memory.delete(args.id, user_id=args.user, agent_id=args.agent):
        raise _missing(args)
    cli_output.print_json({"deleted": 1, "id": args.id}, out) if args.json else out.write(f"deleted {args.id}\n")


async def cmd_delete_all(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    if _scope(args).empty and not args.all:
        raise UsageError("delete-all needs --user, --agent or --run; --all deletes every memory of every tenant")
    result = await memory.delete_all(user_id=args.user, agent_id=args.agent, run_id=args.run, all=args.all)
    cli_output.print_json(result, out) if args.json else out.write(f"deleted {result['deleted']} memories\n")


async def cmd_history(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    events = await memory.history(args.id, user_id=args.user, agent_id=args.agent)
    if not events:
        raise _missing(args)
    cli_output.print_json(events, out) if args.json else cli_output.render_history(events, out)


async def cmd_stats(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    rows = [asdict(s) for s in await _admin.tenant_stats(memory, _scope(args))]
    if args.json:
        cli_output.print_json({"tenants": rows}, out)
    elif not rows:
        out.write("the store holds no memories" + (" in this scope" if not _scope(args).empty else "") + "\n")
    else:
        cli_output.render_stats(rows, out)


async def cmd_import(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem import backup
    from powermem.importing import ImportOptions, import_records

    if backup.is_full_export(args.file):
        await _import_full(args, memory, out)
        return

    options = ImportOptions(args.format, _scope(args), args.batch_size, args.infer, args.fresh, args.progress_file)
    bar = None if args.quiet else cli_output.ProgressBar(sys.stderr, f"import {args.file.name}", 0)
    report = await import_records(memory, args.file, options, bar.update if bar else None)
    if bar is not None and not report.already_done:
        bar.finish()
    if args.json:
        cli_output.print_json(report.as_dict(), out)
    elif report.already_done:
        out.write(f"{args.file} was already imported into this store ({report.earlier} records); "
                  "pass --fresh to import it again\n")
    else:
        out.write(_import_summary(report.as_dict()))


async def _import_full(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem import backup

    if args.infer or args.fresh or args.format != "auto" or not _scope(args).empty:
        raise UsageError("a full export is restored as it is: --infer, --fresh, --format and scope flags do not apply")
    options = backup.RestoreOptions(args.batch_size or 500, args.resume, args.reembed)
    report = await backup.import_full(memory, args.file, options)
    if args.json:
        cli_output.print_json(report.as_dict(), out)
        return
    counts = ", ".join(f"{n} {section}" for section, n in report.counts.items())
    embedded = "re-embedded" if report.reembedded else "embeddings kept"
    out.write(f"restored {counts} from {args.file} in {cli_output.format_duration(report.seconds)} ({embedded})\n")


def _import_summary(r: dict[str, Any]) -> str:
    rate = r["imported"] / r["seconds"] if r["seconds"] > 0 else 0.0
    text = (f"imported {r['imported']} of {r['total']} records ({r['format']}) in "
            f"{cli_output.format_duration(r['seconds'])} ({rate:,.0f} records/s), {r['memories']} memories created")
    if r["resumed_from"]:
        text += f"; resumed after record {r['resumed_from']} ({r['earlier']} imported before)"
    if r["skipped"]:
        text += f"; {r['skipped']} found already stored were skipped"
    if r["llm_calls"]:
        text += (f"; {r['llm_calls']:,} LLM calls, {r['prompt_tokens']:,} prompt + "
                 f"{r['completion_tokens']:,} completion tokens")
    return text + "\n"


async def cmd_export(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem.importing import ExportOptions, export_jsonl

    if args.full:
        await _export_full(args, memory, out)
        return
    options = ExportOptions(_scope(args), json_arg(args.filters, "--filters"), args.keep_import_keys)
    if args.out is None:
        await export_jsonl(memory, out, options)
        return
    tmp = args.out.with_name(args.out.name + ".part")
    with tmp.open("w", encoding="utf-8") as handle:
        count = await export_jsonl(memory, handle, options)
    tmp.replace(args.out)  # a failed export never leaves a truncated file under the real name
    message = {"exported": count, "out": str(args.out)}
    cli_output.print_json(message, out) if args.json else out.write(f"exported {count} memories to {args.out}\n")


async def _export_full(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem import backup

    if args.filters is not None or args.keep_import_keys or not _scope(args).empty:
        raise UsageError("--full exports every tenant as stored: --filters, --keep-import-keys and scope flags do not apply")
    if args.out is None:
        await backup.export_full(memory, out)
        return
    tmp = args.out.with_name(args.out.name + ".part")
    with tmp.open("w", encoding="utf-8") as handle:
        report = await backup.export_full(memory, handle)
    tmp.replace(args.out)
    if args.json:
        cli_output.print_json({"out": str(args.out), "counts": report.counts}, out)
        return
    counts = ", ".join(f"{n} {section}" for section, n in report.counts.items())
    out.write(f"exported {counts} to {args.out}\n")


async def cmd_backup(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem import backup

    pages = await backup.copy_embedded(memory, args.dest)
    cli_output.print_json({"out": str(args.dest), "pages": pages}, out) if args.json else out.write(
        f"copied the store to {args.dest} ({pages} pages)\n")


async def cmd_graph_export(args: argparse.Namespace, memory: AsyncMemory, out: TextIO) -> None:
    from powermem import graph_export

    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    scope = _scope(args)
    graph = await _admin.graph_of(memory, scope, args.limit)
    if args.format == "graphml":
        g = graph_export.write_graphml(graph, args.out)
    else:
        g = graph_export.write_html(graph, args.out, args.title or _title(scope))
    summary = {"out": str(args.out), "format": args.format, "memories": len(graph.memories),
               "entities": sum(1 for _, kind in g.nodes(data="kind") if kind == "entity"),
               "mentions": len(graph.mentions), "relations": len(graph.relations), "truncated": graph.truncated}
    if args.json:
        cli_output.print_json(summary, out)
        return
    out.write(f"wrote {args.out}: {summary['memories']} memories, {summary['entities']} entities, "
              f"{summary['relations']} relations, {summary['mentions']} mentions\n")
    if graph.truncated:
        out.write(f"(only the oldest {args.limit} memories of the scope; raise --limit for more)\n")


def _title(scope: Scope) -> str:
    parts = [f"{k} {v}" for k, v in (("user", scope.user_id), ("agent", scope.agent_id), ("run", scope.run_id)) if v]
    return "powermem graph — " + (", ".join(parts) if parts else "all tenants")



async def cmd_reembed(args: argparse.Namespace, config: MemoryConfig, out: TextIO) -> None:
    """Not through AsyncMemory: the store refuses to open with an embedder it does not hold yet."""
    from powermem.reembed import ReembedProgress, reembed

    if not 1 <= args.batch_size <= 10_000:
        raise UsageError("--batch-size must be between 1 and 10,000")
    bars: list[tuple[str, cli_output.ProgressBar]] = []  # one per kind, on stderr as import prints

    def progress(step: ReembedProgress) -> None:
        if args.quiet:
            return
        if not bars or bars[-1][0] != step.kind:
            if bars:
                bars[-1][1].finish()
            bars.append((step.kind, cli_output.ProgressBar(sys.stderr, f"reembed {step.kind}", step.total)))
        if step.kind == "switch":
            sys.stderr.write("reembed: the store now searches with the new vectors\n")
            return
        bars[-1][1].update(step.done, step.total)

    report = await reembed(config, batch_size=args.batch_size, on_progress=progress, abort=args.abort)
    if bars and bars[-1][0] != "switch":
        bars[-1][1].finish()
    if args.json:
        cli_output.print_json(report.as_dict(), out)
    elif report.aborted:
        out.write("gave up the re-embed in progress: the store keeps its old vectors and takes writes again\n")
    else:
        out.write(_reembed_summary(report.as_dict()))


def _reembed_summary(r: dict[str, Any]) -> str:
    text = (f"re-embedded {r['memories']} memories and {r['entities']} entities with {r['target']['provider']} "
            f"({r['dims_from']} -> {r['dims_to']} dimensions) in {cli_output.format_duration(r['seconds'])}")
    if r["dims_from"] is None:
        text = f"the store was empty: it now uses {r['target']['provider']} ({r['dims_to']} dimensions)"
    return text + ("; resumed the re-embed in progress" if r["resumed"] else "") + "\n"
