from __future__ import annotations

import threading

import pytest

from powermem.errors import InvalidInputError
from powermem.ids import SnowflakeGenerator, parse_id


def test_ids_increase_and_are_unique_across_threads() -> None:
    generator = SnowflakeGenerator(worker_id=7)
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [generator.next_id() for _ in range(5000)]
        assert mine == sorted(mine)
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 20000
    assert all(0 < i < 2**63 for i in seen)


def test_workers_never_collide() -> None:
    a, b = SnowflakeGenerator(1), SnowflakeGenerator(2)
    assert not {a.next_id() for _ in range(2000)} & {b.next_id() for _ in range(2000)}


def test_worker_id_range() -> None:
    with pytest.raises(ValueError):
        SnowflakeGenerator(1024)


@pytest.mark.parametrize("value", ["12", " 12 ", 12])
def test_parse_id_accepts_int_and_decimal_string(value: object) -> None:
    assert parse_id(value) == 12


@pytest.mark.parametrize("value", ["abc", "1e3", "-5", 0, -1, True, 1.0, None, "١٢", 2**63])
def test_parse_id_rejects(value: object) -> None:
    with pytest.raises(InvalidInputError, match="memory_id"):
        parse_id(value)
