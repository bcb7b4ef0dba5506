"""docker-compose.yml runs the Neo4j that powermem expects, as docs/ describe it."""

from __future__ import annotations

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


def test_auth_comes_from_the_environment(neo4j: dict[str, Any]) -> None:
    env = neo4j["environment"]
    auth = env["NEO4J_AUTH"] if isinstance(env, dict) else next(e.split("=", 1)[1] for e in env if e.startswith("NEO4J_AUTH="))
    assert auth.startswith("neo4j/${NEO4J_PASSWORD")
    default = auth.split(":-", 1)[1].rstrip("}") if ":-" in auth else ""
    assert len(default) >= 8, "Neo4j refuses passwords shorter than 8 characters"


def test_data_lives_in_a_named_volume(compose: dict[str, Any], neo4j: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounts = {str(v).split(":", 1)[0]: str(v).split(":", 1)[1] for v in neo4j["volumes"]}
    data_sources = [source for source, target in mounts.items() if target.rstrip("/") == "/data"]
    assert data_sources and data_sources[0] in named


def test_healthcheck_runs_a_query(neo4j: dict[str, Any]) -> None:
    check = neo4j["healthcheck"]
    command = " ".join(check["test"]) if isinstance(check["test"], list) else check["test"]
    assert "cypher-shell" in command and "RETURN 1" in command
    assert check.get("interval") and check.get("retries")
