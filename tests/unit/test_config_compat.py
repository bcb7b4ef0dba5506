"""The config dicts mem0 and PowerMem document load here, mapped to powermem's meaning.

Each ``test_*_example`` takes a configuration as its project documents it (the page is
named above the test; placeholders filled where the page leaves them empty) and checks
what powermem makes of it: the keys mapped, the one WARNING naming what is ignored, or the
ConfigError naming what cannot be honoured.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.config import MemoryConfig, auto_config
from powermem.embeddings.openai import OpenAIEmbedder
from powermem.errors import ConfigError
from powermem.llm.presets import resolve


def load(config: dict[str, Any], caplog: pytest.LogCaptureFixture) -> tuple[MemoryConfig, list[str]]:
    """The validated config and the WARNINGs logged while validating it."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="powermem"):
        result = MemoryConfig.from_any(config)
    return result, [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# -- mem0 -------------------------------------------------------------------------------------------


# docs.mem0.ai/open-source/configuration ("Create a configuration dictionary")
MEM0_OSS_CONFIGURATION = {
    "vector_store": {"provider": "qdrant", "config": {"host": "localhost", "port": 6333}},
    "llm": {"provider": "openai", "config": {"model": "gpt-4.1-mini", "temperature": 0.1}},
    "embedder": {"provider": "vertexai", "config": {"model": "textembedding-gecko@003"}},
    "reranker": {"provider": "cohere", "config": {"model": "rerank-english-v3.0"}},
}


def test_mem0_oss_configuration_example_names_the_embedder_it_cannot_run(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"embedding\.provider.*'openai'"):
        load(MEM0_OSS_CONFIGURATION, caplog)
    supported = {**MEM0_OSS_CONFIGURATION, "embedder": {"provider": "openai", "config": {"model": "text-embedding-3-small"}}}
    config, warnings = load(supported, caplog)
    assert config.store.provider == "embedded"  # qdrant's memories live in the embedded store
    assert config.llm.provider == "openai" and config.llm.model == "gpt-4.1-mini" and config.llm.temperature == 0.1
    assert config.embedding.provider == "openai" and config.embedding.model == "text-embedding-3-small"
    assert len(warnings) == 1
    for named in ("reranker", "vector_store.provider 'qdrant'", "vector_store.host", "vector_store.port"):
        assert named in warnings[0]


# mem0 docs, the general vector store example with a top-level "version"
MEM0_VERSIONED = {
    "version": "v1.1",
    "embedder": {"provider": "openai", "config": {"api_key": "sk-test", "model": "text-embedding-3-small"}},
    "llm": {"provider": "openai", "config": {"api_key": "sk-test", "model": "gpt-4.1"}},
    "vector_store": {"provider": "qdrant", "config": {"host": "localhost", "port": 6333}},
}


def test_mem0_versioned_example_loads(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(MEM0_VERSIONED, caplog)
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == "sk-test"
    assert config.embedding.api_key is not None and config.store.provider == "embedded"
    assert len(warnings) == 1 and "version" not in warnings[0]  # the format version is no loss


# docs.mem0.ai/open-source/features/graph-memory (Neo4j Aura quickstart)
MEM0_GRAPH_NEO4J = {
    "graph_store": {"provider": "neo4j", "config": {
        "url": "neo4j+s://abc123.databases.neo4j.io", "username": "neo4j", "password": "aura-pw",
    }},
}


def test_mem0_graph_memory_neo4j_example_maps_url_to_uri(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(MEM0_GRAPH_NEO4J, caplog)
    assert config.store.provider == "neo4j" and config.store.uri == "neo4j+s://abc123.databases.neo4j.io"
    assert config.store.username == "neo4j"
    assert config.store.password is not None and config.store.password.get_secret_value() == "aura-pw"
    assert warnings == []


def test_graph_store_beside_vector_store_wins_with_one_warning_naming_the_ignored(
        caplog: pytest.LogCaptureFixture) -> None:
    both = {**MEM0_VERSIONED, **MEM0_GRAPH_NEO4J}
    config, warnings = load(both, caplog)
    assert config.store.provider == "neo4j" and config.store.uri.startswith("neo4j+s://")
    assert len(warnings) == 1
    assert "vector_store (graph_store is given and wins" in warnings[0] and "vectors too" in warnings[0]
    # powermem's own section beats both, and says so
    own = {**both, "store": {"provider": "embedded", "path": "/tmp/x.db"}}
    config, warnings = load(own, caplog)
    assert config.store.provider == "embedded" and config.store.path == "/tmp/x.db"
    assert len(warnings) == 1 and "graph_store (store is given" in warnings[0] and "vector_store (store" in warnings[0]


def test_neo4j_database_and_graph_store_extras(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load({"graph_store": {"provider": "neo4j", "config": {
        "url": "bolt://127.0.0.1:7687", "username": "neo4j", "password": "pw", "database": "memories",
        "base_label": True}, "llm": {"provider": "openai", "config": {"model": "gpt-4.1"}},
        "custom_prompt": "Only people", "threshold": 0.75}}, caplog)
    assert config.store.database == "memories" and config.store.uri == "bolt://127.0.0.1:7687"
    assert len(warnings) == 1
    for named in ("graph_store.base_label", "graph_store.llm", "graph_store.custom_prompt", "graph_store.threshold"):
        assert named in warnings[0]


# memgraph.com/docs/ai-ecosystem/integrations/mem0
MEM0_MEMGRAPH = {
    "embedder": {"provider": "openai", "config": {"model": "text-embedding-3-large", "embedding_dims": 1536}},
    "graph_store": {"provider": "memgraph", "config": {
        "url": "bolt://localhost:7687", "username": "memgraph", "password": "mem0graph"}},
}


def test_mem0_memgraph_example_is_refused_naming_the_provider(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"graph_store\.provider 'memgraph' is not supported"):
        load(MEM0_MEMGRAPH, caplog)
    config, _ = load({"embedder": MEM0_MEMGRAPH["embedder"]}, caplog)
    assert config.embedding.dims == 1536  # embedding_dims


# docs.mem0.ai/components/embedders/models/ollama
MEM0_OLLAMA_EMBEDDER = {"embedder": {"provider": "ollama", "config": {"model": "mxbai-embed-large"}}}


def test_mem0_ollama_embedder_example(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(MEM0_OLLAMA_EMBEDDER, caplog)
    assert config.embedding.provider == "ollama" and warnings == []
    embedder = OpenAIEmbedder(config.embedding)  # no request is made here
    assert embedder.dims == 1024 and embedder.model == "mxbai-embed-large"
    assert str(embedder._client.base_url) == "http://127.0.0.1:11434/v1/"


def test_ollama_base_url_gets_the_openai_compatible_path(caplog: pytest.LogCaptureFixture) -> None:
    # docs.mem0.ai/components/llms/models/ollama: ollama_base_url is Ollama's root
    config, warnings = load({
        "llm": {"provider": "ollama", "config": {"model": "mixtral:8x7b", "temperature": 0.1, "max_tokens": 2000,
                                                  "ollama_base_url": "http://localhost:11434"}},
        "embedder": {"provider": "ollama", "config": {"model": "nomic-embed-text:latest",
                                                      "ollama_base_url": "http://localhost:11434/"}},
    }, caplog)
    settings = resolve(config.llm)
    assert settings.base_url == "http://localhost:11434/v1" and settings.model == "mixtral:8x7b"
    assert config.embedding.base_url == "http://localhost:11434/v1"
    assert OpenAIEmbedder(config.embedding).dims == 768  # the tag is ignored when looking up the model
    assert len(warnings) == 1 and "llm.max_tokens" in warnings[0]


# docs.mem0.ai/components/llms/models/azure_openai
MEM0_AZURE_LLM = {
    "llm": {"provider": "azure_openai", "config": {
        "model": "my-gpt4o-deployment", "temperature": 0.1, "max_tokens": 2000,
        "azure_kwargs": {"azure_deployment": "my-gpt4o-deployment", "api_version": "2024-10-21",
                         "azure_endpoint": "https://my-resource.openai.azure.com", "api_key": "azure-key"},
    }},
}


def test_mem0_azure_llm_example(caplog: pytest.LogCaptureFixture) -> None:
    config, _ = load(MEM0_AZURE_LLM, caplog)
    settings = resolve(config.llm)
    assert settings.provider == "azure" and settings.base_url == "https://my-resource.openai.azure.com"
    assert settings.deployment == "my-gpt4o-deployment" and settings.api_version == "2024-10-21"
    assert settings.api_key == "azure-key"


def test_mem0_azure_llm_example_with_empty_placeholders_names_what_is_missing(
        caplog: pytest.LogCaptureFixture) -> None:
    # The page leaves the azure_kwargs values "" (read from LLM_AZURE_* variables in mem0).
    empty = {"llm": {"provider": "azure_openai", "config": {
        "model": "d", "azure_kwargs": {"azure_deployment": "", "api_version": "", "azure_endpoint": "", "api_key": ""}}}}
    config, _ = load(empty, caplog)
    with pytest.raises(ConfigError, match=r"llm\.base_url"):
        resolve(config.llm)


# docs.mem0.ai/components/embedders/models/azure_openai
MEM0_AZURE_EMBEDDER = {
    "embedder": {"provider": "azure_openai", "config": {
        "model": "text-embedding-3-large",
        "azure_kwargs": {"api_version": "2024-10-21", "azure_deployment": "emb-large",
                         "azure_endpoint": "https://my-resource.openai.azure.com", "api_key": "azure-key",
                         "default_headers": {"CustomHeader": "your-custom-header"}},
    }},
}


def test_mem0_azure_embedder_example(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(MEM0_AZURE_EMBEDDER, caplog)
    assert config.embedding.provider == "azure" and config.embedding.deployment == "emb-large"
    embedder = OpenAIEmbedder(config.embedding)
    assert embedder.dims == 3072
    assert "my-resource.openai.azure.com/openai/deployments/emb-large" in str(embedder._client.base_url)
    assert len(warnings) == 1 and "embedding.azure_kwargs.default_headers" in warnings[0]


def test_mem0_custom_prompts_become_powermem_prompts(caplog: pytest.LogCaptureFixture) -> None:
    config, _ = load({"custom_fact_extraction_prompt": "Only food facts.",
                      "custom_update_memory_prompt": "Prefer UPDATE.",
                      "llm": {"provider": "openai", "config": {"model": "gpt-4.1"}}}, caplog)
    assert config.llm.prompts.extraction == "Only food facts."
    assert config.llm.prompts.reconciliation == "Prefer UPDATE." and config.llm.model == "gpt-4.1"


# -- PowerMem (OceanBase) ---------------------------------------------------------------------------


# PowerMem docs/guides/0003-configuration.md, "SQLite Configuration", JSON example
POWERMEM_SQLITE = {"vector_store": {"provider": "sqlite", "config": {
    "database_path": "./data/powermem_dev.db", "enable_wal": True, "timeout": 30}}}


def test_powermem_sqlite_example_is_the_embedded_store(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(POWERMEM_SQLITE, caplog)
    assert config.store.provider == "embedded" and config.store.path == "./data/powermem_dev.db"
    assert len(warnings) == 1 and "vector_store.enable_wal" in warnings[0] and "vector_store.timeout" in warnings[0]
    # the short form of the issue
    config, _ = load({"vector_store": {"provider": "sqlite"}}, caplog)
    assert config.store.provider == "embedded" and config.store.path is None


# PowerMem docs/guides/0003-configuration.md, "OpenAI Configuration", Python dictionary example
POWERMEM_OPENAI_LLM = {"llm": {"provider": "openai", "config": {
    "api_key": "your-openai-api-key", "model": "gpt-4", "openai_base_url": "https://api.openai.com/v1",
    "temperature": 0.7, "max_tokens": 1000, "top_p": 1.0}}}


def test_powermem_openai_llm_example(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(POWERMEM_OPENAI_LLM, caplog)
    assert config.llm.base_url == "https://api.openai.com/v1" and config.llm.model == "gpt-4"
    assert config.llm.temperature == 0.7
    assert len(warnings) == 1 and "llm.max_tokens" in warnings[0] and "llm.top_p" in warnings[0]


# PowerMem docs/guides/0003-configuration.md, "Method 2: JSON/Dictionary Configuration"
POWERMEM_DICT = {
    "vector_store": {"provider": "sqlite", "config": {"database_path": "./data/powermem_dev.db"}},
    "llm": {"provider": "qwen", "config": {"api_key": "your_api_key", "model": "qwen-plus"}},
    "embedder": {"provider": "qwen", "config": {"api_key": "your_api_key", "model": "text-embedding-v4"}},
}


def test_powermem_qwen_example_is_refused_naming_the_provider(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"llm\.provider 'qwen' has no client in powermem: use 'openai_compatible' with base_url https://dashscope"):
        load(POWERMEM_DICT, caplog)


# PowerMem docs/guides/0003-configuration.md, "PostgreSQL Configuration", Python dictionary example
POWERMEM_POSTGRES = {"vector_store": {"provider": "postgres", "config": {
    "collection_name": "memories", "dbname": "powermem", "host": "127.0.0.1", "port": 5432,
    "user": "postgres", "password": "your_password", "embedding_model_dims": 1536}}}


def test_powermem_postgres_example_runs_on_the_embedded_store_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(POWERMEM_POSTGRES, caplog)
    assert config.store.provider == "embedded"
    assert len(warnings) == 1 and "vector_store.provider 'postgres'" in warnings[0]
    assert "vector_store.embedding_model_dims" in warnings[0] and "your_password" not in warnings[0]


# -- mistakes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    ({"llm": {"provider": "openai", "config": {"opnai_base_url": "x"}}}, "llm.opnai_base_url: unknown key; did you mean 'openai_base_url'?"),
    ({"embedder": {"provider": "openai", "config": {"embeding_dims": 8}}}, "did you mean 'embedding_dims'?"),
    ({"vectorstore": {"provider": "sqlite"}}, "vectorstore: unknown key; did you mean 'vector_store'?"),
    ({"store": {"provider": "neo4j", "uri_": "bolt://x"}}, "store.uri_: unknown key; did you mean 'uri'?"),
    ({"search": {"hopz": 2}}, "search.hopz: unknown key; did you mean 'hops'?"),
    ({"vector_store": {"provider": "weaviate"}}, "vector_store.provider 'weaviate' is not supported"),
    ({"embedder": {"provider": "openai"}, "embedding": {"provider": "local"}}, "both 'embedder' and 'embedding'"),
    ({"graph_store": {"provider": "neo4j", "config": {"url": "bolt://a", "uri": "bolt://b"}}}, "both 'url' and 'uri'"),
])
def test_mistakes_name_the_key_and_the_nearest_valid_one(config: dict[str, Any], message: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError) as info:
        load(config, caplog)
    assert message in str(info.value)


def test_own_shape_round_trips_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    config, warnings = load(POWERMEM_SQLITE, caplog)
    again, warnings = load(config.model_dump(), caplog)
    assert again == config and warnings == []


# -- the environment ------------------------------------------------------------------------------


ENV_NAMES = ("POWERMEM_ENV_FILE", "LLM_PROVIDER", "LLM_API_KEY", "OPENAI_API_KEY", "EMBEDDING_API_KEY",
             "EMBEDDING_PROVIDER", "LLM_MODEL", "NEO4J_URI", "POWERMEM_PATH")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./.env
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.powermem/.env
    return monkeypatch


def test_env_file_is_read_like_python_dotenv(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / "my.env"
    env.write_text(
        "# a comment line\n"
        "export LLM_PROVIDER=ollama   # the local server\n"
        "LLM_MODEL = 'qwen2.5:7b' # quoted, then a comment\n"
        'LLM_API_KEY="key # not a comment"\n'
        "POWERMEM_PATH=./mem#1.db\n"
        'EMBEDDING_PROVIDER="hash\\x"\n'
        "not a line at all\n",
        encoding="utf-8",
    )
    clean_env.setenv("POWERMEM_ENV_FILE", str(env))
    config = auto_config()
    assert config["llm"]["provider"] == "ollama" and config["llm"]["model"] == "qwen2.5:7b"
    assert config["llm"]["api_key"].get_secret_value() == "key # not a comment"
    assert config["store"]["path"] == "./mem#1.db"  # '#' without a space before it is data
    assert config["embedding"]["provider"] == "hash\\x"  # an unknown escape stays as written


def test_openai_api_key_alone_serves_llm_and_embedder(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-only-one")
    clean_env.setenv("EMBEDDING_PROVIDER", "openai")
    config = MemoryConfig.from_any(auto_config())
    assert config.llm.provider == "openai"
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == "sk-only-one"
    assert config.embedding.api_key is not None and config.embedding.api_key.get_secret_value() == "sk-only-one"
    clean_env.setenv("EMBEDDING_API_KEY", "sk-embeddings")
    config = MemoryConfig.from_any(auto_config())
    assert config.embedding.api_key is not None and config.embedding.api_key.get_secret_value() == "sk-embeddings"


async def test_inference_off_is_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "m.db")},
              "embedding": {"provider": "hashing", "dims": 32}, "llm": {"provider": "none"}}
    async with AsyncMemory(config) as memory:
        with caplog.at_level(logging.INFO, logger="powermem"):
            await memory.add("I like tea", user_id="u")
            await memory.add("I like coffee", user_id="u")
    notices = [r for r in caplog.records if "inference is off" in r.getMessage()]
    assert len(notices) == 1 and notices[0].levelno == logging.WARNING
    assert "OPENAI_API_KEY" in notices[0].getMessage()
