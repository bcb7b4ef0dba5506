"""Configuration: pydantic models, and ``auto_config()`` which is the only reader of the environment."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from powermem.config_compat import ACCEPTED_KEYS, translate
from powermem.errors import ConfigError
from powermem.redact import has_userinfo, redact_url

__all__ = [
    "EmbeddingConfig",
    "IngestConfig",
    "LLMConfig",
    "MemoryConfig",
    "PromptConfig",
    "SearchConfig",
    "ServerConfig",
    "StoreConfig",
    "StructuredOutput",
    "auto_config",
    "default_embedded_path",
]


class _Section(BaseModel):
    # Secrets are SecretStr; hiding inputs keeps a rejected value (a password of the wrong
    # type, a URL with credentials) out of ValidationError text and chained tracebacks too.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "base_url" and isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _flatten_provider_config(cls, data: Any) -> Any:
        # mem0 and PowerMem users write {"provider": "x", "config": {...}}; accept that shape too.
        if isinstance(data, dict) and isinstance(data.get("config"), dict):
            flat = {k: v for k, v in data.items() if k != "config"}
            flat.update(data["config"])
            return flat
        return data


class StoreConfig(_Section):
    provider: Literal["embedded", "neo4j"] = "embedded"
    path: str | None = Field(None, description="Embedded store SQLite file; default: see default_embedded_path().")
    uri: str = "bolt://127.0.0.1:7687"
    username: str = "neo4j"
    password: SecretStr | None = None
    database: str | None = None
    connection_timeout: float = Field(10.0, gt=0)
    # Measured on 5.26 (benchmarks/neo4j_bench.py --tune): an exact scan costs ~23 us per
    # candidate, the post-filtered index ~100 ms for a small scope in a large store; they
    # cross near 5,000.
    exact_scan_limit: int = Field(
        5_000, ge=0, description="Neo4j: scopes with at most this many candidates are scanned exactly."
    )

    @field_validator("uri")
    @classmethod
    def _no_credentials_in_uri(cls, uri: str) -> str:
        # The driver refuses them too, and would echo the URI, password included, in its error.
        if has_userinfo(uri):
            raise ValueError("the URI must not hold credentials (user:password@); set username and password")
        return uri


class PromptConfig(_Section):
    extraction: str | None = None
    reconciliation: str | None = None


LLMProvider = Literal[
    "openai", "azure", "ollama", "vllm", "llamacpp", "lmstudio", "deepseek", "openai_compatible", "none"
]
StructuredOutput = Literal["auto", "json_schema", "json_object", "tools", "prompt"]
_PROVIDER_ALIASES = {"azure_openai": "azure", "llama_cpp": "llamacpp", "llama.cpp": "llamacpp",
                     "lm_studio": "lmstudio", "compatible": "openai_compatible"}


class LLMConfig(_Section):
    provider: LLMProvider = Field("none", description="A preset (see powermem.llm.presets) or none.")
    api_key: SecretStr | None = None
    model: str | None = Field(None, description="None: the preset's model (openai: gpt-4o-mini).")
    base_url: str | None = None
    structured_output: StructuredOutput | None = Field(None, description="None: the preset's mode.")
    api_version: str | None = Field(None, description="azure: the api-version query parameter.")
    deployment: str | None = Field(None, description="azure: the deployment name; default the model.")
    temperature: float = Field(0.0, ge=0, le=2)
    timeout: float = Field(60.0, gt=0)
    max_attempts: int = Field(4, ge=1, le=20)
    max_retry_seconds: float = Field(120.0, gt=0)
    retry_initial_wait: float = Field(0.5, ge=0, le=60, description="First backoff wait; doubles each retry.")
    prompts: PromptConfig = Field(default_factory=PromptConfig)

    @field_serializer("base_url", when_used="json")
    def _masked_url(self, url: str | None) -> str | None:
        return None if url is None else redact_url(url)

    @field_validator("provider", mode="before")
    @classmethod
    def _provider_alias(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        name = value.strip().lower().replace("-", "_")
        return _PROVIDER_ALIASES.get(name, name)


class EmbeddingConfig(_Section):
    provider: Literal["local", "openai", "azure", "ollama", "hashing"] = "local"
    model: str | None = None
    dims: int | None = Field(None, ge=1, le=8192)
    api_key: SecretStr | None = None
    base_url: str | None = None
    api_version: str | None = Field(None, description="azure: the api-version query parameter.")
    deployment: str | None = Field(None, description="azure: the deployment name; default the model.")
    timeout: float = Field(60.0, gt=0)
    max_attempts: int = Field(4, ge=1, le=20)
    max_retry_seconds: float = Field(120.0, gt=0)
    retry_initial_wait: float = Field(0.5, ge=0, le=60, description="First backoff wait; doubles each retry.")
    batch_size: int = Field(64, ge=1)
    threads: int | None = Field(
        None, ge=1, le=64,
        description="local: threads that encode one call's batches; default the machine's cores, at most 4.",
    )
    download: bool = Field(
        True,
        description="local: fetch all-MiniLM-L6-v2 from the Hugging Face Hub into its cache when the model package is absent.",
    )

    @field_serializer("base_url", when_used="json")
    def _masked_url(self, url: str | None) -> str | None:
        return None if url is None else redact_url(url)

    @field_validator("provider", mode="before")
    @classmethod
    def _provider_alias(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        name = value.strip().lower().replace("-", "_")
        return {"azure_openai": "azure"}.get(name, name)


class IngestConfig(_Section):
    on_llm_failure: Literal["raise", "store_raw"] = Field(
        "raise", description="When extraction fails: raise LLMError, or store the messages as infer=False would."
    )
    entity_similarity_threshold: float = Field(0.92, ge=0, le=1)
    offline_extractor: Literal["auto", "heuristic", "spacy"] = Field(
        "auto",
        description="Names and relations without an LLM: spaCy's en_core_web_sm where installed ('auto'), "
        "always the heuristic, or spaCy required.",
    )
    offline_relations: bool = Field(
        True, description="Store the relations the offline extractor reads (origin 'offline'); False: entities only."
    )
    reconcile_candidates: int = Field(5, ge=1, le=50, description="Similar memories fetched per new fact.")
    # Cosine scales differ between embedders, so the default is the embedder's own calibrated
    # value (0.7 for MiniLM; docs/configuration.md); a value set here wins.
    reconcile_min_similarity: float | None = Field(
        None, ge=-1, le=1,
        description="Existing memories below this cosine are not shown to the reconciliation call; None: the embedder's default.",
    )


SearchPreset = Literal["hybrid", "vector", "fulltext", "vector+fulltext"]


class SearchConfig(_Section):
    preset: SearchPreset | None = Field(None, description="Named preset; explicit fields below override it.")
    vector: bool = True
    fulltext: bool = True
    graph: bool = True
    vector_weight: float = Field(1.0, ge=0)
    fulltext_weight: float = Field(1.0, ge=0)
    graph_weight: float = Field(1.0, ge=0, description="Weight of graph context added to the fused score.")
    time_weight: float = Field(1.0, ge=0, description="Weight of the period signal when a query names a date or period.")
    rrf_k: int = Field(
        10, ge=1, description="Reciprocal-rank fusion constant: rank r of a signal adds weight / (rrf_k + r)."
    )
    hops: int = Field(2, ge=0, le=4)
    candidate_pool: int = Field(50, ge=1, le=1000)
    seed_hits: int = Field(10, ge=0, le=100, description="Top fused hits whose graph neighbourhood gives context.")
    max_subgraph_nodes: int = Field(500, ge=10, le=20_000)
    adjacent_window: int = Field(2, ge=0, le=5, description="Conversation neighbours of a hit joined to the graph.")
    entity_link_similarity: float = Field(0.75, ge=0, le=1)
    inflect_terms: bool = Field(True, description="Full-text also searches the regular inflections of the query's words.")
    rerank_window: int = Field(
        20, ge=0, le=100, description="Top fused results reordered by the query's words and names they hold (0: off).",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("preset"):
            return data
        signals = _PRESETS.get(data["preset"])
        if signals is None:
            return data  # the Literal check reports the unknown name
        return {**signals, **data}


# The other presets are the plain signals (the query's words as written, no reranking): what
# each retrieves on its own, the baselines the hybrid search is measured against.
_PLAIN = {"inflect_terms": False, "rerank_window": 0}
_PRESETS: dict[str, dict[str, bool | int]] = {
    "hybrid": {"vector": True, "fulltext": True, "graph": True},
    "vector": {"vector": True, "fulltext": False, "graph": False, **_PLAIN},
    "fulltext": {"vector": False, "fulltext": True, "graph": False, **_PLAIN},
    "vector+fulltext": {"vector": True, "fulltext": True, "graph": False, **_PLAIN},
}


class ApiKeyConfig(_Section):
    key: SecretStr = Field(..., min_length=1)
    user_ids: list[str] | None = Field(None, description="The only user ids this key may touch; None: any.")


class ServerConfig(_Section):
    """What ``powermem serve`` and ``powermem mcp`` add to the library's configuration."""

    host: str = Field("127.0.0.1", description="Loopback unless told otherwise: the API holds every tenant's data.")
    port: int = Field(8848, ge=0, le=65535)
    api_keys: list[ApiKeyConfig] = Field(default_factory=list, description="Empty: no authentication.")
    user_id: str | None = Field(None, description="Default user scope of the MCP tools (POWERMEM_USER_ID).")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Larger request bodies are refused with 413.")


class MemoryConfig(_Section):
    store: StoreConfig = Field(default_factory=StoreConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    worker_id: int | None = Field(None, ge=0, le=1023, description="Snowflake worker id; random if unset.")
    require_scope: bool | None = Field(
        None,
        description="Refuse reads with no user_id/agent_id/run_id. None: off in the library, on in serve and mcp.",
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_aliases(cls, data: Any) -> Any:
        # mem0's and PowerMem's dicts (vector_store, graph_store, embedder, ...): config_compat.
        return translate(data) if isinstance(data, dict) else data

    @classmethod
    def from_any(cls, config: MemoryConfig | dict[str, Any] | None) -> MemoryConfig:
        """Validate a dict (or pass a model through); ``None`` means ``auto_config()``."""
        if isinstance(config, MemoryConfig):
            return config
        if config is None:
            config = auto_config()
        if not isinstance(config, dict):
            raise ConfigError(f"config must be a dict or MemoryConfig, not {type(config).__name__}")
        try:
            return cls.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        if err["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key{_nearest(err['loc'])}")
        elif err["type"] == "value_error" and isinstance((err.get("ctx") or {}).get("error"), ConfigError):
            parts.append(str(err["ctx"]["error"]))  # raised by config_compat: already names the key
        else:
            parts.append(f"{where}: {err['msg']}")
    return "invalid config: " + "; ".join(parts)


def _nearest(loc: tuple[int | str, ...]) -> str:
    """ "; did you mean 'x'?" for the valid key of that section closest to the unknown one."""
    model: Any = MemoryConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        model = next((a for a in (annotation, *get_args(annotation)) if isinstance(a, type)
                      and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    section = str(loc[0]) if len(loc) > 1 else ""
    valid = {*model.model_fields, *ACCEPTED_KEYS.get(section, ())} if len(loc) <= 2 else set(model.model_fields)
    match = difflib.get_close_matches(str(loc[-1]), sorted(valid), n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(sorted(model.model_fields))}"


def default_embedded_path() -> Path:
    """Where the embedded store lives when neither config nor ``POWERMEM_PATH`` says."""
    return Path.home() / ".powermem" / "powermem.db"


# A .env line as python-dotenv reads it: an optional ``export``, NAME = value, where the value
# is single-quoted (literal), double-quoted (escapes; may span lines) or bare (up to a `` #``
# comment); a comment may follow a quoted value. Lines that match nothing are skipped.
_ENV_ENTRY = re.compile(
    r"""^[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*
    (?:'(?P<single>(?:\\'|[^'])*)'[ \t]*(?:\#[^\r\n]*)?$
      |"(?P<double>(?:\\.|[^"\\])*)"[ \t]*(?:\#[^\r\n]*)?$
      |(?P<bare>[^\r\n]*)$)""",
    re.MULTILINE | re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for entry in _ENV_ENTRY.finditer(path.read_text(encoding="utf-8")):
        if entry["single"] is not None:
            value = entry["single"].replace("\\'", "'")
        elif entry["double"] is not None:
            value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), entry["double"])
        else:
            value = re.sub(r"\s+#.*", "", entry["bare"]).strip()
        values[entry["key"]] = value
    return values


def _env_file_values(environ: dict[str, str]) -> dict[str, str]:
    candidates = [environ.get("POWERMEM_ENV_FILE"), ".env", str(Path.home() / ".powermem" / ".env")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return _read_env_file(Path(candidate))
    return {}


def auto_config() -> dict[str, Any]:
    """Build a config dict from a ``.env`` file and the environment (real variables win).

    The password and API keys come as ``SecretStr``, so printing the dict does not show them.
    """
    env = {**_env_file_values(dict(os.environ)), **os.environ}

    def pick(*names: str) -> str | None:
        for name in names:
            if env.get(name):
                return env[name]
        return None

    store: dict[str, Any] = {"provider": pick("POWERMEM_STORE") or ("neo4j" if pick("NEO4J_URI") else "embedded")}
    for key, var in [("path", "POWERMEM_PATH"), ("uri", "NEO4J_URI"), ("username", "NEO4J_USERNAME"),
                     ("password", "NEO4J_PASSWORD"), ("database", "NEO4J_DATABASE")]:
        if pick(var):
            store[key] = pick(var)
    # mem0's convention: OPENAI_API_KEY alone turns the OpenAI LLM on.
    llm: dict[str, Any] = {"provider": pick("LLM_PROVIDER") or ("openai" if pick("LLM_API_KEY", "OPENAI_API_KEY")
                                                                else "none")}
    for key, names in [("api_key", ("LLM_API_KEY", "OPENAI_API_KEY")), ("model", ("LLM_MODEL",)),
                       ("base_url", ("LLM_BASE_URL", "OPENAI_BASE_URL")),
                       ("structured_output", ("LLM_STRUCTURED_OUTPUT",)),
                       ("api_version", ("LLM_API_VERSION", "OPENAI_API_VERSION")),
                       ("deployment", ("LLM_DEPLOYMENT",))]:
        if pick(*names):
            llm[key] = pick(*names)
    embedding: dict[str, Any] = {"provider": pick("EMBEDDING_PROVIDER") or "local"}
    for key, names in [("model", ("EMBEDDING_MODEL",)), ("dims", ("EMBEDDING_DIMS",)),
                       ("api_key", ("EMBEDDING_API_KEY", "OPENAI_API_KEY")), ("base_url", ("EMBEDDING_BASE_URL",))]:
        if pick(*names):
            embedding[key] = pick(*names)
    for section, key in ((store, "password"), (llm, "api_key"), (embedding, "api_key")):
        if key in section:
            section[key] = SecretStr(section[key])
    config: dict[str, Any] = {"store": store, "llm": llm, "embedding": embedding}
    server = _server_env(pick("POWERMEM_API_KEYS"), pick("POWERMEM_USER_ID"))
    if server:
        config["server"] = server
    return config


def _server_env(keys: str | None, user_id: str | None) -> dict[str, Any]:
    """``POWERMEM_API_KEYS="k1,k2=alice|bob"``: k1 may touch any user, k2 only alice and bob."""
    server: dict[str, Any] = {}
    if keys:
        server["api_keys"] = [_api_key_entry(item) for item in keys.split(",") if item.strip()]
    if user_id:
        server["user_id"] = user_id
    return server


def _api_key_entry(item: str) -> dict[str, Any]:
    key, bound, users = item.strip().partition("=")
    entry: dict[str, Any] = {"key": SecretStr(key.strip())}
    if bound:
        entry["user_ids"] = [u.strip() for u in users.split("|") if u.strip()]
    return entry
