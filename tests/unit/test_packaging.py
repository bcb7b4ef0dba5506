"""The wheel must carry every Cypher statement: the Neo4j store loads them from the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

from powermem.stores.neo4j.queries import cypher_dir

ROOT = Path(__file__).resolve().parents[2]


def test_package_data_globs_cover_every_cypher_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["powermem"]
    package = ROOT / "powermem"
    shipped = {path.resolve() for pattern in globs for path in package.glob(pattern) if path.is_file()}
    statements = {path.resolve() for path in (ROOT / "cypher").rglob("*") if path.is_file()}
    assert statements and statements <= shipped


def test_statements_load_from_the_package_folder() -> None:
    assert (ROOT / "powermem" / "cypher").resolve() == (ROOT / "cypher").resolve()
    assert cypher_dir().resolve() == (ROOT / "cypher").resolve()
