"""Time on both stores: event time on add, bi-temporal relations, as-of queries, invalidation
that stays in its lane, and the period a query names as a signal of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.errors import InvalidInputError
from tests.contract.test_infer import llm_config
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM, fact

T1, T2, T3 = "2021-01-10T09:00:00+00:00", "2022-06-01T09:00:00+00:00", "2023-03-01T09:00:00+00:00"


def canonical(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="microseconds")


def triples(relations: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["source"], r["relationship"], r["destination"]) for r in relations}


# -- event time on ingest ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (datetime(2023, 5, 8, 13, 56, tzinfo=UTC), "2023-05-08T13:56:00.000000+00:00"),
        (datetime(2023, 5, 8, 13, 56), "2023-05-08T13:56:00.000000+00:00"),  # naive: UTC
        (datetime(2023, 5, 8, 15, 56, tzinfo=timezone(timedelta(hours=2))), "2023-05-08T13:56:00.000000+00:00"),
        ("2023-05-08T13:56:00Z", "2023-05-08T13:56:00.000000+00:00"),
        ("2023-05-08", "2023-05-08T00:00:00.000000+00:00"),
        (1683554160, "2023-05-08T13:56:00.000000+00:00"),
        (1683554160.5, "2023-05-08T13:56:00.500000+00:00"),
    ],
)
async def test_add_keeps_the_event_time_as_created_at(memory: AsyncMemory, given: Any, expected: str) -> None:
    before = datetime.now(UTC)
    [added] = (await memory.add("Maya adopted a cat", user_id="maya", infer=False, timestamp=given))["results"]
    assert added["created_at"] == expected
    [stored] = (await memory.get_all(user_id="maya"))["results"]
    assert stored["created_at"] == expected
    # updated_at is the system time of the write.
    assert datetime.fromisoformat(stored["updated_at"]) >= before


@pytest.mark.parametrize("bad", ["last tuesday", "2023-13-01", True, float("nan"), 10**20, [2023], {"at": 1}])
async def test_a_bad_timestamp_names_the_accepted_forms_and_writes_nothing(memory: AsyncMemory, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"timestamp must be a datetime, an ISO-8601 string .* epoch seconds"):
        await memory.add("Maya adopted a cat", user_id="maya", infer=False, timestamp=bad)
    with pytest.raises(InvalidInputError, match=r"messages\[0\]\['timestamp'\] must be a datetime"):
        await memory.add([{"role": "user", "content": "hi", "timestamp": bad}], user_id="maya", infer=False)
    assert (await memory.get_all(user_id="maya"))["total"] == 0


async def test_a_message_timestamp_wins_over_the_adds(memory: AsyncMemory) -> None:
    messages = [
        {"role": "user", "content": "I moved to Porto", "timestamp": "2022-06-01T10:00:00+00:00"},
        {"role": "user", "content": "I got a dog"},
    ]
    added = await memory.add(messages, user_id="maya", infer=False, timestamp="2023-01-01T00:00:00+00:00")
    assert [r["created_at"] for r in added["results"]] == [canonical("2022-06-01T10:00:00+00:00"),
                                                           canonical("2023-01-01T00:00:00+00:00")]


async def test_get_all_and_search_as_of_see_the_memories_created_by_then(memory: AsyncMemory) -> None:
    for text, at in [("Maya lives in Lisbon", T1), ("Maya plays the cello", T2), ("Maya runs marathons", T3)]:
        await memory.add(text, user_id="maya", infer=False, timestamp=at)
    listed = await memory.get_all(user_id="maya", as_of="2022-12-31")
    assert sorted(r["memory"] for r in listed["results"]) == ["Maya lives in Lisbon", "Maya plays the cello"]
    assert listed["total"] == 2
    assert (await memory.get_all(user_id="maya", as_of=datetime(2020, 1, 1)))["total"] == 0
    found = await memory.search("Maya marathons cello Lisbon", user_id="maya", as_of=T2)
    assert sorted(r["memory"] for r in found["results"]) == ["Maya lives in Lisbon", "Maya plays the cello"]
    with pytest.raises(InvalidInputError, match="as_of must be a datetime"):
        await memory.search("Maya", user_id="maya", as_of="soon")
    with pytest.raises(InvalidInputError, match="as_of must be a datetime"):
        await memory.get_all(user_id="maya", as_of=object())


# -- the story: Lisbon -> Porto -> Lisbon, queried at four times -----------------------------

STORY = ScriptedLLM(
    extractions={
        "I live in Lisbon": fact(["Maya lives in Lisbon"], [("Maya", "person"), ("Lisbon", "place")],
                                 [("Maya", "LIVES_IN", "Lisbon")]),
        "I moved to Porto": fact(["Maya lives in Porto"], [("Maya", "person"), ("Porto", "place")],
                                 [("Maya", "LIVES_IN", "Porto")]),
        "back in Lisbon": fact(["Maya lives in Lisbon again"], [("Maya", "person"), ("Lisbon", "place")],
                               [("Maya", "LIVES_IN", "Lisbon")]),
        "Tom lives in Lisbon": fact(["Tom lives in Lisbon"], [("Tom", "person"), ("Lisbon", "place")],
                                    [("Tom", "LIVES_IN", "Lisbon")]),
        "since June 2022": {
            "facts": ["Maya works at Acme"],
            "entities": [{"name": "Maya", "type": "person"}, {"name": "Acme", "type": "organization"}],
            "relations": [{"source": "Maya", "relationship": "WORKS_AT", "destination": "Acme",
                           "valid_at": "2022-06", "invalid_at": None}],
        },
    },
    rules=[
        Rule("lives in Porto", "ADD", contradicts="LIVES_IN"),
        Rule("Lisbon again", "ADD", contradicts="LIVES_IN"),
    ],
)


@pytest.fixture
async def story(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> Any:
    script = ScriptedLLM(STORY.extractions, STORY.rules)
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        yield m, openai_server


async def tell_the_story(m: AsyncMemory, user: str = "maya") -> list[dict[str, Any]]:
    return [
        await m.add("I live in Lisbon", user_id=user, timestamp=T1),
        await m.add([{"role": "user", "content": "I moved to Porto", "timestamp": T2}], user_id=user),
        await m.add("I am back in Lisbon", user_id=user, timestamp=T3),
    ]


async def test_the_story_queried_at_four_times(story: Any) -> None:
    m, server = story
    first, _, last = await tell_the_story(m)
    assert first["results"][0]["created_at"] == canonical(T1)
    assert last["relations"]["deleted_entities"] == [{"source": "Maya", "relationship": "LIVES_IN", "destination": "Porto"}]
    # The LLM was told when the conversation happened, not today's date.
    prompts = [r.text for r in server.chat_requests if "Conversation:" in r.text]
    assert "Today's date: 2021-01-10" in prompts[0]
    assert f"[{canonical(T2)}] user (maya): I moved to Porto" in prompts[1]

    expected = {
        "2020-06-01": (set(), set()),
        "2021-06-01": ({"Maya lives in Lisbon"}, {("Maya", "LIVES_IN", "Lisbon")}),
        "2022-12-01": ({"Maya lives in Lisbon", "Maya lives in Porto"}, {("Maya", "LIVES_IN", "Porto")}),
        "2023-06-01": ({"Maya lives in Lisbon", "Maya lives in Porto", "Maya lives in Lisbon again"},
                       {("Maya", "LIVES_IN", "Lisbon")}),
    }
    for as_of, (memories, relations) in expected.items():
        listed = await m.get_all(user_id="maya", as_of=as_of)
        assert {r["memory"] for r in listed["results"]} == memories, as_of
        assert triples(listed["relations"]) == relations, as_of
        found = await m.search("where does Maya live", user_id="maya", as_of=as_of)
        assert {r["memory"] for r in found["results"]} == memories, as_of
        assert triples(found["relations"]) == relations, as_of
    # Now: as at the last step, and the superseded relations are hidden.
    assert triples((await m.get_all(user_id="maya"))["relations"]) == {("Maya", "LIVES_IN", "Lisbon")}


async def test_superseded_relations_keep_world_and_system_times(story: Any) -> None:
    m, _ = story
    before = datetime.now(UTC).isoformat(timespec="microseconds")
    await tell_the_story(m)
    every = (await m.get_all(user_id="maya", include_invalidated=True))["relations"]
    lives = sorted((r for r in every if r["relationship"] == "LIVES_IN"), key=lambda r: r["valid_at"])
    assert [(r["destination"], r["valid_at"], r["invalid_at"]) for r in lives] == [
        ("Lisbon", canonical(T1), canonical(T2)),
        ("Porto", canonical(T2), canonical(T3)),
        ("Lisbon", canonical(T3), None),
    ]
    # System time: written and expired now, whatever the world time of the facts.
    assert all(r["created_at"] >= before for r in lives)
    assert [r["expired_at"] is not None and r["expired_at"] >= before for r in lives] == [True, True, False]
    # Without the flag the record keeps its usual three keys.
    [now] = (await m.get_all(user_id="maya"))["relations"]
    assert set(now) == {"source", "relationship", "destination"}


async def test_a_relation_is_valid_from_the_time_the_model_gives(story: Any) -> None:
    m, _ = story
    await m.add("I have worked at Acme since June 2022", user_id="maya", timestamp=T3)
    [works] = (await m.get_all(user_id="maya", include_invalidated=True))["relations"]
    assert (works["relationship"], works["valid_at"]) == ("WORKS_AT", "2022-06-01T00:00:00.000000+00:00")
    # World time: true from June 2022, though said (and remembered) only in March 2023.
    assert triples((await m.get_all(user_id="maya", as_of="2022-05-31"))["relations"]) == set()
    assert triples((await m.get_all(user_id="maya", as_of="2022-07-01"))["relations"]) == {("Maya", "WORKS_AT", "Acme")}
    assert (await m.get_all(user_id="maya", as_of="2022-07-01"))["total"] == 0


# -- invalidation in its lane -----------------------------------------------------------------


async def test_invalidation_stays_with_its_tenant_and_subject(story: Any) -> None:
    m, _ = story
    await m.add("I live in Lisbon", user_id="bob", timestamp=T1)  # another tenant, same words
    await m.add("I live in Lisbon", user_id="maya", timestamp=T1)
    await m.add("My brother Tom lives in Lisbon", user_id="maya", timestamp=T1)  # another subject
    moved = await m.add("I moved to Porto", user_id="maya", timestamp=T2)
    # Only Maya's own relations were candidates: not Tom's, not Bob's.
    assert moved["usage"]["invalidation_candidates"] == 1
    assert moved["relations"]["deleted_entities"] == [{"source": "Maya", "relationship": "LIVES_IN", "destination": "Lisbon"}]
    assert triples((await m.get_all(user_id="maya"))["relations"]) == {
        ("Tom", "LIVES_IN", "Lisbon"), ("Maya", "LIVES_IN", "Porto")}
    [bobs] = (await m.get_all(user_id="bob", include_invalidated=True))["relations"]
    assert (bobs["destination"], bobs["invalid_at"], bobs["expired_at"]) == ("Lisbon", None, None)


def lane_answer(facts: list[str], relations: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """An extraction about Maya whose (relationship, destination, family) relations start at her."""
    places = {"Lisbon": "place", "Porto": "place", "Acme": "organization"}
    return {
        "facts": facts,
        "entities": [{"name": "Maya", "type": "person"}] + [{"name": d, "type": places[d]} for _, d, _ in relations],
        "relations": [{"source": "Maya", "relationship": r, "destination": d, "valid_at": None, "invalid_at": None,
                       "family": f} for r, d, f in relations],
    }


@pytest.mark.parametrize(
    ("first", "new", "candidates", "retired"),
    [
        # A new residence sees (and can retire) only the old residence, not the job.
        (("residence", "employment"), "residence", 1, {("Maya", "LIVES_IN", "Lisbon")}),
        # No family named: the lane is the source entity, as without families.
        (("residence", "employment"), None, 2, {("Maya", "LIVES_IN", "Lisbon"), ("Maya", "WORKS_AT", "Acme")}),
        # Relations of no family (older ones) stay candidates of a relation that names one.
        ((None, None), "residence", 2, {("Maya", "LIVES_IN", "Lisbon"), ("Maya", "WORKS_AT", "Acme")}),
    ],
)
async def test_invalidation_stays_in_the_type_family_the_model_names(
    memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer, first: tuple[str | None, str | None],
    new: str | None, candidates: int, retired: set[tuple[str, str, str]],
) -> None:
    script = ScriptedLLM(
        extractions={
            "I live in Lisbon and work at Acme": lane_answer(
                ["Maya lives in Lisbon", "Maya works at Acme"],
                [("LIVES_IN", "Lisbon", first[0]), ("WORKS_AT", "Acme", first[1])]),
            "I moved to Porto": lane_answer(["Maya lives in Porto"], [("LIVES_IN", "Porto", new)]),
        },
        # A careless model calls both old relations contradicted: only the lane protects the job.
        rules=[Rule("lives in Porto", "ADD", contradicts=("LIVES_IN", "WORKS_AT"))],
    )
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        await m.add("I live in Lisbon and work at Acme", user_id="maya", timestamp=T1)
        moved = await m.add("I moved to Porto", user_id="maya", timestamp=T2)
        assert moved["usage"]["invalidation_candidates"] == candidates
        assert triples(moved["relations"]["deleted_entities"]) == retired
        every = (await m.get_all(user_id="maya", include_invalidated=True))["relations"]
        families = {(r["relationship"], r["destination"]): r["family"] for r in every}
        assert families == {("LIVES_IN", "Lisbon"): first[0], ("WORKS_AT", "Acme"): first[1],
                            ("LIVES_IN", "Porto"): new}
        expected_now = {("Maya", "LIVES_IN", "Porto"), ("Maya", "LIVES_IN", "Lisbon"), ("Maya", "WORKS_AT", "Acme")}
        assert triples((await m.get_all(user_id="maya"))["relations"]) == expected_now - retired


async def test_a_subject_with_many_relations_of_other_families_keeps_its_lane(
    memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
) -> None:
    # More relations of another family than the candidate bound (40), written first: a bound
    # applied before the family test would fill with them and never see the old residence.
    likes = [f"Hobby{i:02d}" for i in range(45)]
    script = ScriptedLLM(
        extractions={
            "I like many things": {
                "facts": [f"Maya likes {h}" for h in likes],
                "entities": [{"name": "Maya", "type": "person"}] + [{"name": h, "type": "activity"} for h in likes],
                "relations": [{"source": "Maya", "relationship": "LIKES", "destination": h, "valid_at": None,
                               "invalid_at": None, "family": "preference"} for h in likes],
            },
            "I live in Lisbon": lane_answer(["Maya lives in Lisbon"], [("LIVES_IN", "Lisbon", "residence")]),
            "I moved to Porto": lane_answer(["Maya lives in Porto"], [("LIVES_IN", "Porto", "residence")]),
        },
        rules=[Rule("lives in Porto", "ADD", contradicts="LIVES_IN")],
    )
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        await m.add("I like many things", user_id="maya", timestamp=T1)
        await m.add("I live in Lisbon", user_id="maya", timestamp=T1)
        moved = await m.add("I moved to Porto", user_id="maya", timestamp=T2)
        assert moved["usage"]["invalidation_candidates"] == 1
        assert triples(moved["relations"]["deleted_entities"]) == {("Maya", "LIVES_IN", "Lisbon")}
        now = triples((await m.get_all(user_id="maya"))["relations"])
        assert ("Maya", "LIVES_IN", "Porto") in now and ("Maya", "LIVES_IN", "Lisbon") not in now
        assert len(now) == 46


# -- the time a fact gives --------------------------------------------------------------------


async def test_a_fact_dated_by_the_model_is_a_memory_from_that_time(
    memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
) -> None:
    said = "2023-09-15T10:00:00+00:00"
    script = ScriptedLLM(extractions={
        "I moved to Porto last June": {
            "facts": [{"text": "Maya moved to Porto", "valid_at": "2023-06-01"}],
            "entities": [{"name": "Maya", "type": "person"}, {"name": "Porto", "type": "place"}],
            "relations": [{"source": "Maya", "relationship": "LIVES_IN", "destination": "Porto"}],
        },
        "I will move to Berlin next May": {  # dated after it was said: a plan, known from then
            "facts": [{"text": "Maya plans to move to Berlin", "valid_at": "2024-05-01"}],
        },
    })
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        [moved] = (await m.add("I moved to Porto last June", user_id="maya", timestamp=said))["results"]
        assert moved["created_at"] == "2023-06-01T00:00:00.000000+00:00"
        [plan] = (await m.add("I will move to Berlin next May", user_id="maya", timestamp=said))["results"]
        assert plan["created_at"] == canonical(said)
        for as_of, expected in [("2023-05-01", set()), ("2023-07-01", {"Maya moved to Porto"}),
                                ("2023-10-01", {"Maya moved to Porto", "Maya plans to move to Berlin"})]:
            listed = await m.get_all(user_id="maya", as_of=as_of)
            assert {r["memory"] for r in listed["results"]} == expected, as_of
            found = await m.search("Maya moved to Porto", user_id="maya", as_of=as_of)
            assert {r["memory"] for r in found["results"]} == expected, as_of
        # The fact's relation is valid from the fact's time, not from when it was said.
        assert triples((await m.get_all(user_id="maya", as_of="2023-07-01"))["relations"]) == {
            ("Maya", "LIVES_IN", "Porto")}
        [lives] = (await m.get_all(user_id="maya", include_invalidated=True))["relations"]
        assert lives["valid_at"] == "2023-06-01T00:00:00.000000+00:00"


# -- the period a query names -----------------------------------------------------------------


async def test_memories_of_the_named_period_get_a_signal_of_their_own(memory: AsyncMemory) -> None:
    diary = [("Maya went hiking in the hills", "2023-04-20"), ("Maya went hiking by the sea", "2023-05-14"),
             ("Maya went hiking in the forest", "2023-06-02"), ("Maya went hiking with Tom", "2022-07-10"),
             ("Maya went hiking in the snow", "2022-12-01")]
    for text, at in diary:
        await memory.add(text, user_id="maya", infer=False, timestamp=at)
    found = await memory.search("Maya went hiking in May 2023", user_id="maya")
    assert found["results"][0]["memory"] == "Maya went hiking by the sea"
    assert found["results"][0]["scores"]["time"] == 1.0
    assert all("time" not in r["scores"] for r in found["results"][1:])
    # Relative to as_of: "last summer" seen from March 2023 is the summer of 2022.
    found = await memory.search("where did Maya go hiking last summer", user_id="maya", as_of="2023-03-01")
    assert [r["memory"] for r in found["results"]] == ["Maya went hiking with Tom", "Maya went hiking in the snow"]
    assert found["results"][0]["scores"]["time"] == 1.0
    plain = await memory.search("Maya went hiking", user_id="maya")
    assert all("time" not in r["scores"] for r in plain["results"])


async def test_a_period_holding_every_hit_adds_no_signal(memory_config: dict[str, Any]) -> None:
    """"In 2023" of a diary kept in 2023: the period's nearest memories are the vector hits
    again, so the search ranks as it would without the time signal."""
    diary = [("Maya went hiking in the hills", "2023-04-20"), ("Maya baked bread with Tom", "2023-05-14"),
             ("Maya went swimming in the sea", "2023-06-02"), ("Tom fixed his bike", "2023-07-10")]
    rankings = []
    for weight in (1.0, 0.0):
        async with AsyncMemory({**memory_config, "search": {"time_weight": weight}}) as m:
            if weight:
                await m.reset()
                for text, at in diary:
                    await m.add(text, user_id="maya", infer=False, timestamp=at)
            found = await m.search("what did Maya do in 2023", user_id="maya")
            assert all("time" not in r["scores"] for r in found["results"])
            rankings.append([(r["memory"], r["score"]) for r in found["results"]])
    assert rankings[0] == rankings[1] and len(rankings[0]) == len(diary)


async def test_as_of_vector_search_ranks_as_a_tenant_of_only_the_older_memories(memory_config: dict[str, Any]) -> None:
    """Newer and older memories interleave in similarity: the as_of answer is the one a tenant
    holding only the older would give."""
    config = {**memory_config, "search": {"preset": "vector", "candidate_pool": 4}}
    topics = ["garden roses", "garden tomatoes", "kitchen knives", "kitchen herbs", "river boats", "river fish"]
    async with AsyncMemory(config) as m:
        await m.reset()
        for n, topic in enumerate(topics * 2):
            at = T1 if n % 2 == 0 else T3
            await m.add(f"Maya wrote about {topic} note {n}", user_id="maya", infer=False, timestamp=at)
            if at == T1:
                await m.add(f"Maya wrote about {topic} note {n}", user_id="only-older", infer=False, timestamp=at)
        for query in ["Maya wrote about garden", "kitchen herbs note", "river fish"]:
            then = await m.search(query, user_id="maya", limit=4, as_of=T2)
            older = await m.search(query, user_id="only-older", limit=4)
            assert [r["memory"] for r in then["results"]] == [r["memory"] for r in older["results"]]
            assert len(then["results"]) == 4


async def test_as_of_search_finds_older_memories_beyond_the_newer_best_hits(memory_config: dict[str, Any]) -> None:
    """The best vector hits are all too new for the as_of: the filtered search still finds the old
    one. On Neo4j every scope takes the index (no exact scan), and a plain search first makes the
    tenant known to be large: the as_of search is post-filtered index queries."""
    config = {**memory_config, "search": {"preset": "vector", "candidate_pool": 1},
              "store": {**memory_config["store"], "exact_scan_limit": 0}}
    async with AsyncMemory(config) as m:
        await m.reset()
        await m.add("Maya lives in Lisbon by the river", user_id="maya", infer=False, timestamp=T1)
        for n in range(3):
            await m.add(f"Maya lives in Lisbon by the sea {n}", user_id="maya", infer=False, timestamp=T3)
        assert len((await m.search("Maya lives in Lisbon by the sea", user_id="maya", limit=1))["results"]) == 1
        found = await m.search("Maya lives in Lisbon by the sea", user_id="maya", limit=1, as_of=T2)
        assert [r["memory"] for r in found["results"]] == ["Maya lives in Lisbon by the river"]
