"""Argument parsing and configuration loading, without touching a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powermem.cli import UsageError, build_parser, json_arg, load_config, main
from powermem.errors import ConfigError


def test_every_command_is_there() -> None:
    parser = build_parser()
    for argv in (["add", "x", "-u", "a"], ["search", "q"], ["get", "1"], ["list"], ["update", "1", "--content", "y"],
                 ["delete", "1"], ["delete-all", "--all"], ["history", "1"], ["stats"], ["import", "f.jsonl"],
                 ["export"], ["demo"], ["config"], ["graph", "export", "--format", "html", "--out", "g.html"]):
        assert parser.parse_args(argv).command == argv[0]


def test_scope_and_output_options_come_after_the_command() -> None:
    args = build_parser().parse_args(["search", "q", "--user", "u1", "--agent", "a1", "--run", "r1", "--json"])
    assert (args.user, args.agent, args.run, args.json) == ("u1", "a1", "r1", True)


def test_add_infers_by_default_and_import_does_not() -> None:
    parser = build_parser()
    assert parser.parse_args(["add", "x"]).infer is True
    assert parser.parse_args(["add", "x", "--no-infer"]).infer is False
    assert parser.parse_args(["import", "f"]).infer is False


def test_usage_errors_are_one_line_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("powermem: ") and err.count("\n") == 1
    assert main(["graph", "export", "--format", "svg", "--out", "x"]) == 2


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "import" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("powermem ")


def test_json_arguments() -> None:
    assert json_arg('{"a": 1}', "--filters") == {"a": 1}
    assert json_arg(None, "--filters") is None
    with pytest.raises(UsageError, match="--filters is not valid JSON"):
        json_arg("{a", "--filters")


def test_config_file_overlays_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent"))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv("POWERMEM_STORE", raising=False)
    monkeypatch.setenv("POWERMEM_PATH", str(tmp_path / "env.db"))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"search": {"preset": "vector"}, "embedding": {"dims": 32}}))
    config = load_config(path)
    assert config.store.path == str(tmp_path / "env.db")
    assert (config.embedding.provider, config.embedding.dims) == ("hashing", 32)
    assert config.search.graph is False


@pytest.mark.parametrize(("content", "message"), [("{", "line 1: invalid JSON"), ("[1]", "must hold a JSON object"),
                                                  ('{"store": {"provider": "x"}}', "invalid config")])
def test_bad_config_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.json")


def test_config_command_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "pw-from-env-81f2")
    monkeypatch.setenv("LLM_API_KEY", "sk-from-env-4c1e")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"embedding": {"provider": "openai", "api_key": "sk-from-file-9d3a",
                                              "base_url": "https://u:pw-in-url-2b7c@proxy.example/v1"}}))
    assert main(["config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    for secret in ("pw-from-env-81f2", "sk-from-env-4c1e", "sk-from-file-9d3a", "pw-in-url-2b7c"):
        assert secret not in out
    shown = json.loads(out)
    assert shown["store"]["uri"] == "bolt://db.example:7687" and shown["store"]["password"] == "**********"
    assert shown["llm"]["api_key"] == shown["embedding"]["api_key"] == "**********"
    assert shown["embedding"]["base_url"] == "https://***@proxy.example/v1"


def test_config_errors_do_not_echo_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"store": {"uri": "bolt://neo4j:pw-in-uri-5e8d@db.example"},
                                "llm": {"api_key": ["sk-wrong-type-6a0f"]}}))
    assert main(["config", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "store.uri" in err and "llm.api_key" in err
    assert "pw-in-uri-5e8d" not in err and "sk-wrong-type-6a0f" not in err
