"""mem0 and PowerMem configuration dicts, translated into powermem's own shape.

Users arrive with the dicts they wrote for mem0 or OceanBase's PowerMem: ``vector_store``,
``graph_store``, ``embedder``, ``{"provider": ..., "config": {...}}``, mem0's
``openai_base_url``/``ollama_base_url``/``embedding_dims``/``azure_kwargs``, a top-level
``version``. :func:`translate` renames what has a powermem meaning, drops what has none and
says so in ONE warning, and refuses what it cannot honour with a ``ConfigError``. Keys it does
not know are left for pydantic, whose "extra" error ``powermem.config`` turns into a message
naming the nearest valid key. The rules are documented in docs/configuration.md.
"""

from __future__ import annotations

import logging
from typing import Any

from powermem.errors import ConfigError

__all__ = ["ACCEPTED_KEYS", "translate"]

logger = logging.getLogger("powermem.config")

# Vector databases powermem does not talk to: their data would live in the embedded store
# (the SQLite file at store.path), so a config naming one still runs, with a warning.
_VECTOR_ONLY = ("sqlite", "qdrant", "chroma", "faiss", "pgvector", "postgres", "oceanbase", "seekdb")
_OWN_STORES = ("embedded", "neo4j")
# Base-URL keys of mem0 (and PowerMem) per provider; each means powermem's base_url.
_BASE_URL_KEYS = ("openai_base_url", "ollama_base_url", "lmstudio_base_url", "vllm_base_url", "deepseek_base_url")
# Keys with a meaning elsewhere that powermem has no use for (sampling, proxies, vision...).
_LLM_IGNORED = ("max_tokens", "top_p", "top_k", "http_client_proxies", "enable_vision", "vision_details",
                "enable_search", "models", "route", "site_url", "app_name")
_EMBEDDER_IGNORED = ("http_client_proxies", "model_kwargs", "memory_add_embedding_type",
                     "memory_update_embedding_type", "memory_search_embedding_type")
_TOP_IGNORED = {
    "history_db_path": "history lives in the store",
    "reranker": "search fuses its own signals",
    "intelligent_memory": "a PowerMem feature",
    "agent_memory": "a PowerMem feature",
    "telemetry": "a PowerMem feature; powermem traces with OpenTelemetry",
    "audit": "a PowerMem feature",
    "logging": "configure Python's logging",
    "memory_decay": "a PowerMem feature",
    "query_rewrite": "a PowerMem feature",
    "sparse_embedder": "search fuses full-text instead",
    "timezone": "timestamps are UTC",
}
# Providers of theirs with no client here, and what to write instead.
_DASHSCOPE = ("'openai_compatible' with base_url https://dashscope.aliyuncs.com/compatible-mode/v1 "
              "(DashScope's OpenAI-compatible endpoint)")
_PROVIDER_HINTS = {
    "llm": {"qwen": _DASHSCOPE, "dashscope": _DASHSCOPE, "openrouter": "'openai_compatible' with base_url "
            "https://openrouter.ai/api/v1", "together": "'openai_compatible' with Together's base_url",
            "xai": "'openai_compatible' with base_url https://api.x.ai/v1"},
    "embedding": {"qwen": _DASHSCOPE.replace("openai_compatible", "openai"),
                  "dashscope": _DASHSCOPE.replace("openai_compatible", "openai"),
                  "lmstudio": "'openai' with base_url http://127.0.0.1:1234/v1 and dims",
                  "huggingface": "'local' (all-MiniLM-L6-v2, offline), or 'openai' with the base_url of a "
                                 "text-embeddings-inference server and dims"},
}
_PROMPTS = {"custom_fact_extraction_prompt": "extraction", "custom_update_memory_prompt": "reconciliation"}
_STORE_SECTIONS = ("store", "storage", "graph_store", "vector_store", "database")

# Keys accepted beyond the models' own fields: the nearest-key suggestion considers them too.
ACCEPTED_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"version", "embedder", *_STORE_SECTIONS, *_TOP_IGNORED, *_PROMPTS}),
    "llm": frozenset({*_BASE_URL_KEYS, "azure_kwargs", *_LLM_IGNORED}),
    "embedding": frozenset({*_BASE_URL_KEYS, "azure_kwargs", "embedding_dims", *_EMBEDDER_IGNORED}),
    "store": frozenset({"url", "database_path", "base_label", "enable_wal", "timeout"}),
}


def translate(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` in powermem's shape; logs one WARNING listing everything ignored."""
    ignored: list[str] = []
    out: dict[str, Any] = {}
    prompts: dict[str, Any] = {}
    if "embedder" in data and "embedding" in data:
        raise ConfigError("config has both 'embedder' and 'embedding', which mean the same section: keep one")
    for key, value in data.items():
        if key == "version" or key in _STORE_SECTIONS:
            continue  # version: mem0's config format ("v1.1"); nothing here depends on it
        if key in _TOP_IGNORED:
            ignored.append(f"{key} ({_TOP_IGNORED[key]})")
        elif key in _PROMPTS:
            prompts[_PROMPTS[key]] = value
        else:
            out["embedding" if key == "embedder" else key] = value
    if prompts:
        llm = _flat(out.get("llm") or {})
        if isinstance(llm, dict):
            out["llm"] = {**llm, "prompts": {**prompts, **(llm.get("prompts") or {})}}
    store = _store(data, ignored)
    if store is not None:
        out["store"] = store
    if isinstance(out.get("llm"), dict):
        out["llm"] = _model_section(out["llm"], "llm", _LLM_IGNORED, ignored)
    if isinstance(out.get("embedding"), dict):
        out["embedding"] = _model_section(out["embedding"], "embedding", _EMBEDDER_IGNORED, ignored)
    if ignored:
        logger.warning("config: ignored (no use in powermem): %s", "; ".join(ignored))
    return out


def _flat(section: Any) -> Any:
    """``{"provider": p, "config": {...}}`` as one dict (what the section models accept too)."""
    if isinstance(section, dict) and isinstance(section.get("config"), dict):
        return {**{k: v for k, v in section.items() if k != "config"}, **section["config"]}
    return section


def _provider(section: Any) -> str | None:
    value = section.get("provider") if isinstance(section, dict) else None
    return value.strip().lower() if isinstance(value, str) else None


# -- the store: one of store, graph_store, vector_store ------------------------------------------


def _store(data: dict[str, Any], ignored: list[str]) -> Any:
    """Precedence: ``store`` (powermem's own) > a Neo4j ``graph_store`` > ``vector_store``."""
    given = {key: _flat(data[key]) for key in _STORE_SECTIONS if key in data}
    if not given:
        return None
    own = [key for key in ("store", "storage") if key in given]
    if len(own) == 2:
        raise ConfigError("config has both 'store' and 'storage', which mean the same section: keep one")
    if "vector_store" in given and "database" in given:
        raise ConfigError("config has both 'vector_store' and 'database' (PowerMem's older name): keep one")
    chosen: str
    if own:
        chosen = own[0]
    elif "graph_store" in given:
        chosen = "graph_store"
    else:
        chosen = "vector_store" if "vector_store" in given else "database"
    for key in given:
        if key != chosen:
            ignored.append(f"{key} ({chosen} is given and wins: {_why(chosen, given[chosen])})")
    section = given[chosen]
    if chosen == "graph_store":
        return _graph_store(section, ignored)
    if chosen in ("vector_store", "database"):
        return _vector_store(section, chosen, ignored)
    return section


def _why(chosen: str, section: Any) -> str:
    if chosen == "graph_store":
        return f"the {_provider(section) or 'neo4j'} graph store holds the memories and their vectors too"
    if chosen in ("store", "storage"):
        return "it is powermem's own section"
    return "one store holds memories, vectors and graph"


def _graph_store(section: Any, ignored: list[str]) -> Any:
    if not isinstance(section, dict):
        return section
    provider = _provider(section) or "neo4j"
    if provider not in _OWN_STORES:
        raise ConfigError(
            f"graph_store.provider {provider!r} is not supported: powermem's graph lives in 'neo4j' "
            "or in the 'embedded' store"
        )
    out = {k: v for k, v in section.items() if k not in ("llm", "custom_prompt", "threshold")}
    ignored.extend(f"graph_store.{k} (one LLM, llm, does all extraction)" for k in ("llm", "custom_prompt")
                   if k in section)
    if "threshold" in section:
        ignored.append("graph_store.threshold (see ingest.entity_similarity_threshold)")
    return _neo4j_keys(out, "graph_store", ignored) if provider == "neo4j" else out


def _vector_store(section: Any, name: str, ignored: list[str]) -> Any:
    if not isinstance(section, dict):
        return section
    provider = _provider(section) or "embedded"
    if provider == "neo4j":
        return _neo4j_keys(section, name, ignored)
    if provider == "embedded":
        return section
    if provider not in _VECTOR_ONLY:
        raise ConfigError(
            f"{name}.provider {provider!r} is not supported: powermem stores vectors in 'embedded' "
            f"(a SQLite file) or 'neo4j'; {', '.join(_VECTOR_ONLY)} are read as 'embedded'"
        )
    out: dict[str, Any] = {"provider": "embedded"}
    if provider == "sqlite":
        for key in ("database_path", "path"):
            if key in section:
                out["path"] = section[key]
    rest = sorted(k for k in section if k not in ("provider", "database_path", "path"))
    if provider != "sqlite" and "path" in section:
        rest.append("path")  # a Qdrant or Chroma folder, not a SQLite file
    if provider != "sqlite":
        ignored.append(f"{name}.provider {provider!r} (the memories live in the embedded store, a SQLite "
                       "file at store.path)")
    ignored.extend(f"{name}.{key}" for key in sorted(rest))
    return out


def _neo4j_keys(section: dict[str, Any], name: str, ignored: list[str]) -> dict[str, Any]:
    out = dict(section)
    if "url" in out:  # mem0's name for the Bolt URI
        if "uri" in out:
            raise ConfigError(f"{name} has both 'url' and 'uri': keep one")
        out["uri"] = out.pop("url")
    if "base_label" in out:
        out.pop("base_label")
        ignored.append(f"{name}.base_label (powermem's labels are fixed)")
    return out


# -- llm and embedder ----------------------------------------------------------------------------


def _model_section(section: dict[str, Any], name: str, drop: tuple[str, ...], ignored: list[str]) -> dict[str, Any]:
    out = dict(_flat(section))
    provider = _provider(out)
    if provider in ("azure_openai", "azure-openai"):
        out["provider"] = "azure"
    hint = _PROVIDER_HINTS[name].get(provider or "")
    if hint:
        raise ConfigError(f"{name}.provider {provider!r} has no client in powermem: use {hint}")
    urls = [key for key in _BASE_URL_KEYS if key in out]
    for key in urls:
        url = out.pop(key)
        if url is None:
            continue
        if key == "ollama_base_url" and isinstance(url, str):
            url = _ollama_v1(url)  # mem0 gives Ollama's own root; powermem speaks its /v1 API
        if out.get("base_url") not in (None, url):
            raise ConfigError(f"{name} has both base_url and {key} with different values: keep one")
        out["base_url"] = url
    if "embedding_dims" in out:
        if out.get("dims") not in (None, out["embedding_dims"]):
            raise ConfigError(f"{name} has both dims and embedding_dims with different values: keep one")
        out["dims"] = out.pop("embedding_dims")
    if "azure_kwargs" in out:
        _azure(out, out.pop("azure_kwargs"), name, ignored)
    for key in drop:
        if key in out:
            out.pop(key)
            ignored.append(f"{name}.{key}")
    return out


def _ollama_v1(url: str) -> str:
    trimmed = url.rstrip("/")
    return trimmed if trimmed.endswith("/v1") else trimmed + "/v1"


def _azure(out: dict[str, Any], kwargs: Any, name: str, ignored: list[str]) -> None:
    """mem0's ``azure_kwargs``: endpoint, deployment, api_version and key; empty values unset."""
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{name}.azure_kwargs must be a dict, not {type(kwargs).__name__}")
    names = {"azure_endpoint": "base_url", "azure_deployment": "deployment", "api_version": "api_version",
             "api_key": "api_key"}
    for key, value in kwargs.items():
        if key not in names:
            ignored.append(f"{name}.azure_kwargs.{key}")
        elif value not in (None, "") and out.get(names[key]) in (None, ""):
            out[names[key]] = value
