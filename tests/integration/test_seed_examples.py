"""The seed reference's three usage examples, run as written against the public API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from powermem import AsyncMemory, auto_config


@pytest.fixture(autouse=True)
def offline_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray ./.env is read
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE", "POWERMEM_STORE",
                 "LLM_API_KEY", "OPENAI_API_KEY", "LLM_PROVIDER", "LLM_MODEL", "LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("POWERMEM_PATH", str(tmp_path / "seed.db"))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    return tmp_path


async def count(user_id: str) -> int:
    async with AsyncMemory(auto_config()) as m:
        return int((await m.get_all(user_id=user_id, limit=1000))["total"])


def test_basic_async_usage(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        config = auto_config()
        async_memory = AsyncMemory(config=config)
        await async_memory.initialize()
        await async_memory.add(messages="User prefers async operations", user_id="user123")
        results = await async_memory.search(query="user preferences", user_id="user123")
        print(f"Found {len(results.get('results', []))} memories")
        await async_memory.close()

    asyncio.run(main())
    assert capsys.readouterr().out == "Found 1 memories\n"


def test_concurrent_operations(capsys: pytest.CaptureFixture[str]) -> None:
    async def add_multiple_memories() -> None:
        config = auto_config()
        async_memory = AsyncMemory(config=config)
        await async_memory.initialize()
        tasks = [async_memory.add(messages=f"Memory {i}", user_id="user123") for i in range(10)]
        results = await asyncio.gather(*tasks)
        print(f"Added {len(results)} memories")
        await async_memory.close()

    asyncio.run(add_multiple_memories())
    assert capsys.readouterr().out == "Added 10 memories\n"
    assert asyncio.run(count("user123")) == 10


def test_batch_processing(capsys: pytest.CaptureFixture[str]) -> None:
    async def batch_process() -> None:
        config = auto_config()
        async_memory = AsyncMemory(config=config)
        await async_memory.initialize()
        messages_list = [[{"role": "user", "content": f"Message {i}"}] for i in range(100)]
        batch_size = 10
        for i in range(0, len(messages_list), batch_size):
            batch = messages_list[i : i + batch_size]
            tasks = [async_memory.add(messages=msg, user_id="user123", infer=True) for msg in batch]
            await asyncio.gather(*tasks)
            print(f"Processed batch {i // batch_size + 1}")
        await async_memory.close()

    asyncio.run(batch_process())
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Processed batch {n}" for n in range(1, 11)]
    assert asyncio.run(count("user123")) == 100


def test_auto_config_reads_env_file_and_real_env_wins(offline_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = offline_environment / "custom.env"
    env_file.write_text('NEO4J_URI="bolt://db.example:7687"\nNEO4J_PASSWORD=secret\nLLM_MODEL=tiny\n')
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(env_file))
    monkeypatch.setenv("LLM_MODEL", "from-env")
    config = auto_config()
    assert config["store"]["provider"] == "neo4j"
    assert config["store"]["uri"] == "bolt://db.example:7687"
    assert config["store"]["password"].get_secret_value() == "secret"
    assert "secret" not in repr(config), "printing auto_config() must not show the password"
    assert config["llm"]["model"] == "from-env"
