"""Provider presets: each fills in what its server needs, explicit config wins, and Azure goes
through the SDK's Azure client (deployment in the path, api-version in the query, api-key header)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from powermem.config import LLMConfig, MemoryConfig, auto_config
from powermem.errors import ConfigError
from powermem.llm import Extraction, LLMClient
from powermem.llm.presets import AZURE_API_VERSION, PRESETS, resolve
from tests.support.openai_server import ScriptedOpenAIServer

EXPECTED = {
    # provider: (base_url, structured_output, key sent without one, model)
    "openai": ("https://api.openai.com/v1", "auto", None, "gpt-4o-mini"),
    "ollama": ("http://127.0.0.1:11434/v1", "auto", "ollama", None),
    "vllm": ("http://127.0.0.1:8000/v1", "auto", "EMPTY", None),
    "llamacpp": ("http://127.0.0.1:8080/v1", "auto", "sk-no-key-required", "local"),
    "lmstudio": ("http://127.0.0.1:1234/v1", "auto", "lm-studio", None),
    "deepseek": ("https://api.deepseek.com/v1", "json_object", None, "deepseek-chat"),
    "openai_compatible": (None, "auto", "not-needed", None),
    "azure": (None, "auto", None, None),
}


def config(**values: Any) -> LLMConfig:
    return LLMConfig.model_validate(values)


def test_every_provider_has_a_preset() -> None:
    assert set(PRESETS) == set(EXPECTED)
    for name, (base_url, mode, placeholder, model) in EXPECTED.items():
        preset = PRESETS[name]
        assert (preset.base_url, preset.structured_output, preset.placeholder_key, preset.model) == (
            base_url, mode, placeholder, model), name


@pytest.mark.parametrize("provider", ["ollama", "vllm", "llamacpp", "lmstudio"])
def test_local_servers_need_no_key_and_no_url(provider: str) -> None:
    base_url, mode, placeholder, _ = EXPECTED[provider]
    settings = resolve(config(provider=provider, model="qwen2.5:7b"))
    assert (settings.base_url, settings.structured_output, settings.api_key) == (base_url, mode, placeholder)
    assert settings.model == "qwen2.5:7b"


@pytest.mark.parametrize("provider", ["ollama", "vllm", "lmstudio", "openai_compatible"])
def test_a_model_is_required_where_no_name_is_obvious(provider: str) -> None:
    with pytest.raises(ConfigError, match=f"llm.model .*{provider}"):
        resolve(config(provider=provider, base_url="http://127.0.0.1:1/v1"))


@pytest.mark.parametrize("provider", ["openai", "deepseek", "azure"])
def test_hosted_services_need_a_key(provider: str) -> None:
    with pytest.raises(ConfigError, match="LLM_API_KEY"):
        resolve(config(provider=provider, model="m", base_url=None if provider != "azure" else "https://x"))
    assert resolve(config(provider=provider, model="m", api_key="k", base_url="https://x")).api_key == "k"


def test_explicit_config_wins_over_the_preset() -> None:
    settings = resolve(config(provider="deepseek", api_key="k", model="deepseek-reasoner",
                              base_url="http://127.0.0.1:9/v1", structured_output="prompt"))
    assert (settings.base_url, settings.model, settings.structured_output) == (
        "http://127.0.0.1:9/v1", "deepseek-reasoner", "prompt")
    # openai with a self-hosted base_url needs no key, as before presets
    assert resolve(config(provider="openai", base_url="http://127.0.0.1:9/v1")).api_key == "not-needed"


def test_base_url_is_required_for_azure_and_generic_servers() -> None:
    with pytest.raises(ConfigError, match=r"llm\.base_url"):
        resolve(config(provider="openai_compatible", model="m"))
    with pytest.raises(ConfigError, match=r"llm\.base_url"):
        resolve(config(provider="azure", api_key="k", deployment="d"))


@pytest.mark.parametrize(("alias", "name"), [("azure_openai", "azure"), ("llama.cpp", "llamacpp"),
                                              ("llama-cpp", "llamacpp"), ("LM-Studio", "lmstudio"),
                                              ("Ollama", "ollama"), ("compatible", "openai_compatible")])
def test_provider_aliases(alias: str, name: str) -> None:
    assert config(provider=alias).provider == name


def test_unknown_provider_and_mode_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"llm\.provider"):
        MemoryConfig.from_any({"llm": {"provider": "bard"}})
    with pytest.raises(ConfigError, match=r"llm\.structured_output"):
        MemoryConfig.from_any({"llm": {"provider": "ollama", "structured_output": "xml"}})


def test_auto_config_reads_the_new_provider_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent.env"))
    for name in ("LLM_API_KEY", "OPENAI_API_KEY", "LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_PROVIDER", "llama.cpp")
    monkeypatch.setenv("LLM_STRUCTURED_OUTPUT", "tools")
    built = MemoryConfig.from_any(auto_config())
    assert (built.llm.provider, built.llm.structured_output) == ("llamacpp", "tools")
    client = LLMClient.from_config(built.llm)
    assert client is not None and client.settings.base_url == "http://127.0.0.1:8080/v1" and client.mode == "tools"
    monkeypatch.setenv("LLM_PROVIDER", "azure")
    monkeypatch.setenv("LLM_API_KEY", "k")
    monkeypatch.setenv("LLM_BASE_URL", "https://res.openai.azure.com")
    monkeypatch.setenv("LLM_DEPLOYMENT", "prod-4o")
    monkeypatch.setenv("LLM_API_VERSION", "2025-01-01-preview")
    azure = MemoryConfig.from_any(auto_config()).llm
    assert (azure.provider, azure.deployment, azure.api_version) == ("azure", "prod-4o", "2025-01-01-preview")


async def test_azure_goes_through_the_sdks_azure_client(openai_server: ScriptedOpenAIServer) -> None:
    endpoint = openai_server.base_url.removesuffix("/v1")
    client = LLMClient(config(provider="azure", api_key="az-key", base_url=endpoint, deployment="prod-4o"))
    openai_server.script({"facts": ["x"], "entities": [], "relations": []})
    result, usage = await client.structured([{"role": "user", "content": "hi"}], Extraction)
    await client.aclose()
    assert [f.text for f in result.facts] == ["x"] and usage.calls == 1
    [request] = openai_server.requests
    assert request.path == f"/openai/deployments/prod-4o/chat/completions?api-version={AZURE_API_VERSION}"
    assert request.headers["api-key"] == "az-key" and "authorization" not in request.headers
    assert request.body["model"] == "prod-4o"
    assert request.body["response_format"]["type"] == "json_schema"
