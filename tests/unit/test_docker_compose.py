"""docker-compose.yml runs the Neo4j that powermem expects, as docs/ describe it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def neo4j(compose: dict[str, Any]) -> dict[str, Any]:
    service = compose["services"]["neo4j"]
    assert isinstance(service, dict)
    return service


def test_image_is_neo4j_5_26_community(neo4j: dict[str, Any]) -> None:
    assert neo4j["image"] == "neo4j:5.26-community"


def _container_ports(neo4j: dict[str, Any]) -> set[int]:
    ports = set()
    for entry in neo4j["ports"]:
        text = str(entry["target"] if isinstance(entry, dict) else entry)
        ports.add(int(text.rsplit(":", 1)[-1].split("/")[0]))
    return ports


def test_bolt_and_browser_ports_are_published(neo4j: dict[str, Any]) -> None:
    assert {7687, 7474} <= _container_ports(neo4j)


def test_auth_comes_from_the_environment_with_no_default(neo4j: dict[str, Any]) -> None:
    env = neo4j["environment"]
    auth = env["NEO4J_AUTH"] if isinstance(env, dict) else next(e.split("=", 1)[1] for e in env if e.startswith("NEO4J_AUTH="))
    # ${VAR:?message}: compose refuses to start without it; a default would be a password in the repository.
    assert auth.startswith("neo4j/${NEO4J_PASSWORD:?") and auth.endswith("}")
    assert "NEO4J_PASSWORD:-" not in COMPOSE.read_text(encoding="utf-8")


def test_ports_are_published_on_loopback_only(neo4j: dict[str, Any]) -> None:
    for entry in neo4j["ports"]:
        if isinstance(entry, dict):
            assert entry.get("host_ip") == "127.0.0.1", entry
        else:
            assert str(entry).startswith("127.0.0.1:"), entry


def test_data_lives_in_a_named_volume(compose: dict[str, Any], neo4j: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounts = {str(v).split(":", 1)[0]: str(v).split(":", 1)[1] for v in neo4j["volumes"]}
    data_sources = [source for source, target in mounts.items() if target.rstrip("/") == "/data"]
    assert data_sources and data_sources[0] in named


def _healthcheck_command(neo4j: dict[str, Any]) -> str:
    test = neo4j["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] == "CMD-SHELL", "a shell command, so the password can go by environment"
    return str(test[1]).replace("$$", "$")  # compose's escape for a literal $


def test_healthcheck_runs_a_query(neo4j: dict[str, Any]) -> None:
    check = neo4j["healthcheck"]
    command = _healthcheck_command(neo4j)
    assert "cypher-shell" in command and "RETURN 1" in command
    assert check.get("interval") and check.get("retries")


def test_healthcheck_keeps_the_password_off_the_command_line(neo4j: dict[str, Any]) -> None:
    command = _healthcheck_command(neo4j)
    for shown in ("$NEO4J_PASSWORD", "${NEO4J_PASSWORD", " -p ", "--password", "powermem-password", "powermem-test-pw"):
        assert shown not in command, shown


def test_healthcheck_passes_the_password_by_environment(neo4j: dict[str, Any], tmp_path: Path) -> None:
    # Run the check's shell command as the container would, with a cypher-shell that records
    # what it was given: the password must reach its environment and never its arguments.
    fake = tmp_path / "cypher-shell"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" >"$RECORD.argv"\n'
                    'printf "%s %s" "$NEO4J_USERNAME" "$NEO4J_PASSWORD" >"$RECORD.env"\n')
    fake.chmod(0o755)
    password = "s3cret-pw-for-the-check"
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "NEO4J_AUTH": f"neo4j/{password}", "RECORD": str(tmp_path / "r")}
    done = subprocess.run(["sh", "-c", _healthcheck_command(neo4j)], env=env, check=False)
    assert done.returncode == 0
    argv = (tmp_path / "r.argv").read_text()
    assert "RETURN 1" in argv and password not in argv
    assert (tmp_path / "r.env").read_text() == f"neo4j {password}"


def test_keep_alives_are_sent_only_while_streaming(neo4j: dict[str, Any]) -> None:
    # The server would otherwise ask the async driver for a receive timeout: a task and a timer
    # per socket read, twice the client CPU per query (docs/neo4j.md, "Bolt keep-alive").
    assert neo4j["environment"]["NEO4J_server_bolt_connection__keep__alive__for__requests"] == "STREAMING"


def test_new_index_segments_go_to_files_not_heap_buffers(neo4j: dict[str, Any]) -> None:
    # Lucene reads vectors from Neo4j's heap-buffered new segments a float at a time: a server
    # that had taken writes searched vectors 4x slower (docs/neo4j.md).
    toggle = "-Dorg.neo4j.kernel.api.impl.index.storage.DirectoryFactory.max_merge_size_mb=0"
    assert toggle in neo4j["environment"]["NEO4J_server_jvm_additional"].split()
