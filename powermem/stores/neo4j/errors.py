"""Map neo4j driver exceptions to powermem's error tree, chained with ``from``.

Messages say what failed and where (URI, database, user), never the password.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from neo4j import exceptions as neo

from powermem.errors import ConfigError, PowermemError, StoreError

__all__ = ["describe", "translate_errors"]

_MISSING_DATABASE = frozenset(
    {"Neo.ClientError.Database.DatabaseNotFound", "Neo.ClientError.Database.DatabaseUnavailable"}
)


@asynccontextmanager
async def translate_errors(target: str, operation: str) -> AsyncIterator[None]:
    """Run a block, re-raising driver and network failures as StoreError/ConfigError.

    ``target`` names the server ("bolt://host:7687, database neo4j, user neo4j") and
    ``operation`` what was attempted, so the message says enough to act on.
    """
    try:
        yield
    except (neo.Neo4jError, neo.DriverError, OSError) as exc:
        raise describe(exc, target, operation) from exc


def describe(exc: BaseException, target: str, operation: str) -> PowermemError:
    """The powermem error for a driver exception (the caller chains it)."""
    prefix = f"Neo4j {operation} failed ({target})"
    if isinstance(exc, neo.AuthError):
        return StoreError(f"{prefix}: authentication rejected; check NEO4J_USERNAME/NEO4J_PASSWORD")
    if isinstance(exc, neo.Neo4jError) and exc.code in _MISSING_DATABASE:
        return StoreError(f"{prefix}: the database does not exist or is not available: {exc.message}")
    if isinstance(exc, neo.ConfigurationError):
        return ConfigError(f"{prefix}: invalid driver configuration: {exc}")
    if isinstance(exc, (neo.ServiceUnavailable, neo.SessionExpired, neo.ConnectionAcquisitionTimeoutError)):
        return StoreError(f"{prefix}: server unreachable or not responding: {exc}")
    if isinstance(exc, neo.ConstraintError):
        return StoreError(f"{prefix}: uniqueness constraint violated: {exc.message}")
    if isinstance(exc, neo.Neo4jError):
        return StoreError(f"{prefix}: {exc.code}: {exc.message}")
    if isinstance(exc, (neo.DriverError, OSError, TimeoutError)):
        return StoreError(f"{prefix}: {type(exc).__name__}: {exc}")
    return StoreError(f"{prefix}: {type(exc).__name__}: {exc}")
