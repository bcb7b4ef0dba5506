"""Plain-text rendering: aligned tables, clipping, the progress bar in a terminal and in a log."""

from __future__ import annotations

import io

from powermem.cli.output import ProgressBar, format_duration, render_records, render_stats, render_table


def test_table_columns_are_aligned_and_the_last_is_clipped() -> None:
    out = io.StringIO()
    render_table(["id", "memory"], [[1, "short"], [12345, "x" * 200]], out, width=40)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("id     memory")
    assert lines[1].startswith("-----  ")
    assert all(len(line) <= 40 for line in lines)
    assert lines[3].endswith("…")


def test_cells_are_one_line_and_none_is_a_dash() -> None:
    out = io.StringIO()
    render_table(["a", "b"], [[None, "two\nlines"]], out, width=80)
    assert out.getvalue().splitlines()[2].split() == ["-", "two", "lines"]


def test_records_show_scope_and_score() -> None:
    out = io.StringIO()
    record = {"id": 7, "memory": "Alice works at Acme", "user_id": "alice", "agent_id": None, "run_id": "r1",
              "created_at": "2026-11-30T16:00:00+00:00", "score": 0.5}
    render_records([record], out, scores=True)
    row = out.getvalue().splitlines()[2]
    assert "0.500" in row and "u:alice r:r1" in row and "2026-11-30 16:00:00" in row


def test_stats_adds_a_total_row_for_several_tenants() -> None:
    out = io.StringIO()
    rows = [{"user_id": "a", "agent_id": None, "memories": 2, "entities": 3, "relations": 1},
            {"user_id": "b", "agent_id": "bot", "memories": 5, "entities": 1, "relations": 0}]
    render_stats(rows, out)
    assert out.getvalue().splitlines()[-1].split() == ["total", "7", "4", "1"]


def test_duration_format() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(75.4) == "1:15"
    assert format_duration(3 * 3600 + 61) == "3:01:01"


def test_progress_on_a_terminal_redraws_one_line() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, "import x", 100, tty=True)
    bar.update(0)
    bar.update(50)
    bar.finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.startswith("\r")
    assert "100/100" not in text and "50/100" in text and "rec/s" in text


def test_progress_in_a_log_prints_whole_lines() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, "import x", 10, tty=False)
    bar.update(0)
    bar.update(10)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("import x [") and "0/10" in lines[0]
    assert "10/10" in lines[-1] and "100%" in lines[-1]


def test_import_summary_prints_llm_totals_only_when_there_were_calls() -> None:
    from powermem.cli.commands import _import_summary

    report = {"imported": 6, "total": 6, "format": "jsonl", "seconds": 2.0, "memories": 2, "resumed_from": 0,
              "earlier": 0, "skipped": 0, "llm_calls": 3, "prompt_tokens": 1234, "completion_tokens": 56}
    assert _import_summary(report).endswith("; 3 LLM calls, 1,234 prompt + 56 completion tokens\n")
    assert "LLM" not in _import_summary({**report, "llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
