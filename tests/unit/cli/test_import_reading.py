"""Reading import files: JSONL (messages and exported memories), LoCoMo, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powermem.importing import ImportFileError, _batches, read_records
from powermem.stores.base import Scope


def write(tmp_path: Path, lines: list[object], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def test_jsonl_messages_and_memories(tmp_path: Path) -> None:
    path = write(tmp_path, [
        {"role": "user", "content": "I like tea", "user_id": "alice"},
        {"role": "assistant", "content": "Noted", "name": "bot", "user_id": "alice", "metadata": {"k": 1}},
        {"memory": "Bob lives in Oslo", "user_id": "bob", "run_id": "r1", "metadata": {"role": "user", "x": [1]}},
    ])
    records, fmt = read_records(path)
    assert fmt == "jsonl"
    assert [r.text for r in records] == ["I like tea", "Noted", "Bob lives in Oslo"]
    assert records[0].metadata == {"role": "user"}
    assert records[1].metadata == {"k": 1, "role": "assistant", "name": "bot"}
    assert records[2].metadata == {"role": "user", "x": [1]}
    assert records[2].scope == Scope("bob", None, "r1")
    assert [r.number for r in records] == [1, 2, 3]


def test_scope_flags_replace_the_records_scope(tmp_path: Path) -> None:
    path = write(tmp_path, [{"memory": "m", "user_id": "bob", "run_id": "r1"}])
    records, _ = read_records(path, scope=Scope(user_id="carol"))
    assert records[0].scope == Scope("carol")


def test_blank_lines_are_skipped_and_numbers_are_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"content": "a", "user_id": "u"}\n\n{"content": "b", "user_id": "u"}\n')
    assert [r.number for r in read_records(path)[0]] == [1, 3]


@pytest.mark.parametrize(("content", "message"), [
    ('{"content": "a", "user_id": "u"}\n{"content": \n', "line 2: invalid JSON"),
    ('{"content": "a"}\n', "record 1: no user_id"),
    ('{"text": "a", "user_id": "u"}\n', "line 1: expected 'memory'"),
    ('{"content": "  ", "user_id": "u"}\n', "line 1: the text must be a non-blank string"),
    ('{"content": "a", "user_id": "u", "metadata": [1]}\n', "'metadata' must be an object"),
    ('[1, 2]\n', "line 1: expected a JSON object"),
    ("\n\n", "no records"),
])
def test_bad_input_names_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ImportFileError, match=message):
        read_records(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        read_records(tmp_path / "nope.jsonl")


def test_locomo_turns(tmp_path: Path) -> None:
    sample = {"sample_id": "conv-1", "conversation": {
        "speaker_a": "Ann", "speaker_b": "Ben",
        "session_2_date_time": "2 May", "session_2": [{"speaker": "Ben", "dia_id": "D2:1", "text": "Later"}],
        "session_1_date_time": "1 May", "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Ben"},
                                                       {"speaker": "Ben", "dia_id": "D1:2", "text": "Hi!"}],
    }, "qa": []}
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([sample]))
    records, fmt = read_records(path)
    assert fmt == "locomo"
    assert [r.text for r in records] == ["Ann: Hi Ben", "Ben: Hi!", "Ben: Later"]
    assert records[0].metadata == {"dia_id": "D1:1", "speaker": "Ann", "session": "session_1",
                                   "session_date_time": "1 May", "role": "user"}
    assert {r.scope for r in records} == {Scope("conv-1")}
    assert read_records(path, scope=Scope(user_id="me"))[0][0].scope == Scope("me")


def test_batches_split_on_size_and_scope(tmp_path: Path) -> None:
    lines = [{"content": str(i), "user_id": "a" if i < 5 else "b"} for i in range(8)]
    records, _ = read_records(write(tmp_path, lines))
    batches = [(i, [r.text for r in b]) for i, b in _batches(records, 1, 3)]
    assert batches == [(1, ["1", "2", "3"]), (4, ["4"]), (5, ["5", "6", "7"])]
