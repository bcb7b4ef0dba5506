"""powermem reembed through the command line: progress on stderr, the report, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli_env import CliEnv, make_cli_env


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             request: pytest.FixtureRequest) -> CliEnv:
    return make_cli_env("embedded", tmp_path, monkeypatch, capsys, request)


PLACES = ("alder aspen birch cedar cherry elm fir hazel holly juniper larch laurel linden maple oak olive palm "
          "pine poplar rowan spruce sycamore walnut willow yew acacia baobab cypress ebony hemlock").split()


def seed(cli: CliEnv, count: int) -> None:
    lines = [json.dumps({"memory": f"Ann visited the {PLACES[i]} grove", "user_id": "ann"}) for i in range(count)]
    (cli.tmp / "seed.jsonl").write_text("\n".join(lines) + "\n")
    cli.ok("import", "seed.jsonl", "-q")


def test_reembed_moves_the_store_and_prints_progress(embedded: CliEnv) -> None:
    seed(embedded, 30)
    embedded.monkeypatch.setenv("EMBEDDING_DIMS", "128")
    refused = embedded.run("search", "oak", "--user", "ann")
    assert refused.code == 1 and "powermem reembed" in refused.err

    result = embedded.run("reembed", "--batch-size", "8")
    assert result.code == 0, result.err
    assert "reembed memories [" in result.err and "30/30" in result.err
    assert "now searches with the new vectors" in result.err
    assert result.out.startswith("re-embedded 30 memories and ") and "(64 -> 128 dimensions)" in result.out
    found = json.loads(embedded.ok("search", "the laurel grove", "--user", "ann", "--json"))["results"]
    # The new vectors rank the memory that shares the query's words first on the vector side.
    assert max(found, key=lambda r: r["scores"]["vector"])["memory"] == "Ann visited the laurel grove"

    embedded.monkeypatch.setenv("EMBEDDING_DIMS", "64")
    stale = embedded.run("search", "oak", "--user", "ann")
    assert stale.code == 1 and "128-dimensional embeddings" in stale.err


def test_reembed_json_quiet_and_bad_input(embedded: CliEnv) -> None:
    seed(embedded, 3)
    assert embedded.run("reembed", "--batch-size", "0").code == 2
    embedded.monkeypatch.setenv("EMBEDDING_PROVIDER", "nonsense")
    bad = embedded.run("reembed")
    assert bad.code == 1 and "embedding.provider" in bad.err
    embedded.monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    none = embedded.run("reembed", "--abort")
    assert none.code == 1 and "nothing to abort" in none.err

    embedded.monkeypatch.setenv("EMBEDDING_DIMS", "32")
    quiet = embedded.run("reembed", "-q", "--json")
    assert quiet.code == 0 and quiet.err == ""
    report = json.loads(quiet.out)
    assert (report["memories"], report["dims_from"], report["dims_to"], report["switched"]) == (3, 64, 32, True)
    assert json.loads(embedded.ok("list", "--user", "ann", "--json"))["total"] == 3


class Stop(Exception):
    pass


def test_the_http_api_searches_and_refuses_writes_during_a_reembed(tmp_path: Path) -> None:
    import asyncio

    import httpx2 as httpx

    from powermem import Memory
    from powermem.cli.http import create_app
    from powermem.reembed import ReembedProgress, reembed
    from tests.support.http_server import serving

    old = {"store": {"provider": "embedded", "path": str(tmp_path / "p.db")},
           "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}
    with Memory(old) as m:
        for place in PLACES[:10]:
            m.add(f"Ann visited the {place} grove", user_id="ann", infer=False)

    def stop(step: ReembedProgress) -> None:
        if step.done >= 4:
            raise Stop

    with pytest.raises(Stop):
        asyncio.run(reembed({**old, "embedding": {"provider": "hashing", "dims": 128}}, batch_size=4,
                            on_progress=stop))
    with serving(create_app(old)) as url, httpx.Client(base_url=url, timeout=30) as api:
        found = api.post("/v1/memories/search", json={"query": "oak grove", "user_id": "ann"})
        assert found.status_code == 200 and found.json()["results"]
        refused = api.post("/v1/memories", json={"messages": "Ann visited Faro", "user_id": "ann", "infer": False})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["type"] == "StoreError"
        assert "being re-embedded" in refused.json()["error"]["message"]
