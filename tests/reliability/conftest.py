"""Fixtures of the reliability suite (see helpers.py for the tally and the fuzz sizes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.helpers import TALLY, Tally


@pytest.fixture(scope="session")
def tally() -> Iterator[Tally]:
    """Counters of generated cases, injected faults and what was lost or leaked."""
    yield TALLY
    TALLY.write()
