"""Secrets in the config: masked wherever the config is shown, intact wherever it is used."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from powermem import AsyncMemory, LLMError
from powermem.config import EmbeddingConfig, LLMConfig, MemoryConfig, StoreConfig, auto_config
from powermem.embeddings.openai import OpenAIEmbedder
from powermem.errors import ConfigError
from powermem.llm.client import LLMClient
from tests.support.openai_server import ScriptedOpenAIServer

PASSWORD = "neo4j-pw-0e7f1c"
LLM_KEY = "sk-llm-5b2d9a"
EMBEDDING_KEY = "sk-emb-93c4e1"
URL_PASSWORD = "proxy-pw-77aa1d"
SECRETS = (PASSWORD, LLM_KEY, EMBEDDING_KEY, URL_PASSWORD)


def secret_config() -> dict[str, Any]:
    return {
        "store": {"provider": "neo4j", "password": PASSWORD},
        "llm": {"provider": "openai", "api_key": LLM_KEY},
        "embedding": {"provider": "openai", "api_key": EMBEDDING_KEY,
                      "base_url": f"https://proxy-user:{URL_PASSWORD}@proxy.example/v1"},
    }


def assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown in {text[:200]!r}..."


def test_repr_str_and_json_mask_every_secret() -> None:
    config = MemoryConfig.from_any(secret_config())
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump(mode="json")),
                  repr(config.store), repr(config.llm), repr(config.embedding), f"{config}", f"{config!r}"):
        assert_hidden(shown)
    assert "proxy.example" in repr(config.embedding), "the URL is masked, not dropped"


def test_secrets_are_secretstr_and_keep_their_value() -> None:
    config = MemoryConfig.from_any(secret_config())
    assert isinstance(config.store.password, SecretStr) and config.store.password.get_secret_value() == PASSWORD
    assert isinstance(config.llm.api_key, SecretStr) and config.llm.api_key.get_secret_value() == LLM_KEY
    assert isinstance(config.embedding.api_key, SecretStr)
    assert config.embedding.api_key.get_secret_value() == EMBEDDING_KEY
    assert config.embedding.base_url is not None and URL_PASSWORD in config.embedding.base_url
    config.store.password = "assigned-later"  # type: ignore[assignment]  # validate_assignment wraps it
    assert isinstance(config.store.password, SecretStr)


def test_model_dump_round_trip_keeps_the_real_secrets() -> None:
    config = MemoryConfig.from_any(secret_config())
    again = MemoryConfig.from_any(config.model_dump())
    assert again.store.password is not None and again.store.password.get_secret_value() == PASSWORD
    assert again.llm.api_key is not None and again.llm.api_key.get_secret_value() == LLM_KEY
    assert again.embedding.base_url == config.embedding.base_url


def test_deprecated_provider_override_keeps_the_secrets() -> None:
    # AsyncMemory(storage_type=...) rebuilds the config through model_dump() and from_any().
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        memory = AsyncMemory(secret_config(), storage_type="neo4j", llm_provider="openai", embedding_provider="openai")
    config = memory.config
    assert config.store.password is not None and config.store.password.get_secret_value() == PASSWORD
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == LLM_KEY
    assert config.embedding.api_key is not None and config.embedding.api_key.get_secret_value() == EMBEDDING_KEY


def test_clients_get_the_real_keys() -> None:
    llm = LLMClient(LLMConfig(provider="openai", api_key=SecretStr(LLM_KEY)))
    assert llm._client.api_key == LLM_KEY
    embedder = OpenAIEmbedder(EmbeddingConfig(provider="openai", api_key=EMBEDDING_KEY))  # type: ignore[arg-type]
    assert embedder._client.api_key == EMBEDDING_KEY


def test_auto_config_wraps_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("NEO4J_PASSWORD", PASSWORD)
    monkeypatch.setenv("LLM_API_KEY", LLM_KEY)
    monkeypatch.setenv("EMBEDDING_API_KEY", EMBEDDING_KEY)
    config = auto_config()
    assert_hidden(repr(config))
    assert config["store"]["password"].get_secret_value() == PASSWORD
    built = MemoryConfig.from_any(config)
    assert built.llm.api_key is not None and built.llm.api_key.get_secret_value() == LLM_KEY


def test_rejected_secrets_are_not_echoed_by_validation_errors() -> None:
    # A wrong type, and a credential in the Neo4j URI (which the driver would echo).
    for bad in ({"store": {"password": [PASSWORD]}}, {"store": {"uri": f"bolt://neo4j:{PASSWORD}@db.example:7687"}},
                {"llm": {"api_key": {"k": LLM_KEY}}}):
        with pytest.raises(ConfigError) as info:
            MemoryConfig.from_any(bad)
        assert_hidden(str(info.value))
        assert isinstance(info.value.__cause__, ValidationError)
        assert_hidden(str(info.value.__cause__))
    with pytest.raises(ValidationError, match="must not hold credentials") as direct:
        StoreConfig(uri=f"neo4j://neo4j:{PASSWORD}@db.example")
    assert_hidden(str(direct.value))


async def test_an_llm_rejecting_the_key_logs_no_secret(openai_server: ScriptedOpenAIServer,
                                                       caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    # Everything at DEBUG, the HTTP client libraries' loggers included.
    caplog.set_level(logging.DEBUG)
    openai_server.fail(("status", 500), ("status", 401), path="completions")
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "m.db")},
              "embedding": {"provider": "hashing", "dims": 64},
              "llm": {"provider": "openai", "api_key": LLM_KEY, "base_url": openai_server.base_url,
                      "retry_initial_wait": 0.01}}
    async with AsyncMemory(config) as memory:
        with pytest.raises(LLMError) as info:
            await memory.add("Alice works at Acme", user_id="alice")
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {LLM_KEY}", "the key is sent"
    assert "retrying" in caplog.text, "the retry was logged"
    assert_hidden(caplog.text)
    assert_hidden(f"{info.value} {info.value.__cause__!r}")


def test_server_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POWERMEM_API_KEYS", " k1 , k2=alice|bob ,")
    monkeypatch.setenv("POWERMEM_USER_ID", "maya")
    config = MemoryConfig.from_any(auto_config())
    keys = config.server.api_keys
    assert [k.key.get_secret_value() for k in keys] == ["k1", "k2"]
    assert [k.user_ids for k in keys] == [None, ["alice", "bob"]]
    assert config.server.user_id == "maya"
    assert config.server.host == "127.0.0.1"
    assert "k2" not in repr(config) and "k2" not in config.model_dump_json()
