"""Provider presets: what each common OpenAI-compatible server needs unless config says otherwise.

Every provider is reached through the ``openai`` SDK (Azure through ``AsyncAzureOpenAI``);
a preset only fills in the base URL, the structured-output mode, a placeholder key for
servers that check none, and a model name where one is obvious. Explicit config wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from powermem.config import LLMConfig, StructuredOutput
from powermem.errors import ConfigError
from powermem.redact import reveal

__all__ = ["AZURE_API_VERSION", "OPENAI_BASE_URL", "PRESETS", "Preset", "Settings", "resolve"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The newest GA api-version with structured outputs (json_schema) when this was written.
AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class Preset:
    base_url: str | None  # None: config must give one
    structured_output: StructuredOutput
    placeholder_key: str | None  # sent when no key is set; None: a key is required
    model: str | None  # None: config must name one


PRESETS: dict[str, Preset] = {
    "openai": Preset(OPENAI_BASE_URL, "auto", None, "gpt-4o-mini"),
    # base_url is the resource endpoint (https://NAME.openai.azure.com); the SDK adds the rest.
    "azure": Preset(None, "auto", None, None),
    "ollama": Preset("http://127.0.0.1:11434/v1", "auto", "ollama", None),
    "vllm": Preset("http://127.0.0.1:8000/v1", "auto", "EMPTY", None),
    # llama.cpp's server answers with whatever model it loaded, whatever the name.
    "llamacpp": Preset("http://127.0.0.1:8080/v1", "auto", "sk-no-key-required", "local"),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", "auto", "lm-studio", None),
    # DeepSeek answers json_schema with 400 but honours json_object.
    "deepseek": Preset("https://api.deepseek.com/v1", "json_object", None, "deepseek-chat"),
    "openai_compatible": Preset(None, "auto", "not-needed", None),
}


@dataclass(frozen=True)
class Settings:
    """What the client needs, every default applied."""

    provider: str
    base_url: str
    api_key: str
    model: str
    structured_output: StructuredOutput
    api_version: str | None = None  # azure
    deployment: str | None = None  # azure


def resolve(config: LLMConfig) -> Settings:
    """``config`` with its provider's preset applied; ``ConfigError`` names what is missing."""
    preset = PRESETS.get(config.provider)
    if preset is None:
        raise ConfigError(f"llm.provider {config.provider!r} has no client")
    base_url = config.base_url or preset.base_url
    if base_url is None:
        raise ConfigError(f"llm.base_url (LLM_BASE_URL) is required for the {config.provider} provider")
    model = config.model or (config.deployment if config.provider == "azure" else None) or preset.model
    if model is None:
        raise ConfigError(
            f"llm.model (LLM_MODEL) is required for the {config.provider} provider: a model the server serves"
        )
    azure = config.provider == "azure"
    return Settings(
        provider=config.provider,
        base_url=base_url,
        api_key=_api_key(config, preset),
        model=model,
        structured_output=config.structured_output or preset.structured_output,
        api_version=(config.api_version or AZURE_API_VERSION) if azure else None,
        deployment=(config.deployment or model) if azure else None,
    )


def _api_key(config: LLMConfig, preset: Preset) -> str:
    key = reveal(config.api_key)
    if key:
        return key
    if preset.placeholder_key is not None:
        return preset.placeholder_key
    if config.base_url and config.provider != "azure":
        return "not-needed"  # a self-hosted server behind an OpenAI-style URL
    raise ConfigError(
        f"llm.api_key is required for the {config.provider} LLM provider (auto_config() reads LLM_API_KEY or "
        "OPENAI_API_KEY; a config dict is taken as given); set it, or set a base_url (LLM_BASE_URL) of a "
        "server that needs no key"
    )
