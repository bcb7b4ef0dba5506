"""An instance's user_id/agent_id defaults scope every method; require_scope refuses unscoped reads."""

from __future__ import annotations

from typing import Any

import pytest

from powermem import AsyncMemory, InvalidInputError, Memory


async def seed(memory_config: dict[str, Any]) -> dict[str, Any]:
    async with AsyncMemory(memory_config) as anyone:
        await anyone.reset()
        other = (await anyone.add("Pia the other agent likes tea", agent_id="other", infer=False))["results"][0]
        elsewhere = (await anyone.add("Pia at home likes tea", user_id="pia", infer=False))["results"][0]
    return {"other": other["id"], "elsewhere": elsewhere["id"]}


async def test_agent_default_scopes_reads_as_well_as_add(memory_config: dict[str, Any]) -> None:
    ids = await seed(memory_config)
    async with AsyncMemory(memory_config, agent_id="bot") as bot:
        mine = (await bot.add("The bot likes tea", infer=False))["results"][0]
        assert mine["agent_id"] == "bot"
        assert [r["memory"] for r in (await bot.search("likes tea"))["results"]] == ["The bot likes tea"]
        listed = await bot.get_all()
        assert listed["total"] == 1 and listed["results"][0]["id"] == mine["id"]
        assert await bot.get(ids["other"]) is None and await bot.get(mine["id"]) is not None
        assert await bot.update(ids["other"], content="hijacked") is None
        assert await bot.delete(ids["other"]) is False
        assert await bot.history(ids["other"]) == []
        # an explicit argument narrows the default pair: (pia, bot) holds nothing yet
        assert (await bot.get_all(user_id="pia"))["total"] == 0
        assert await bot.delete_all() == {"deleted": 1}
    async with AsyncMemory(memory_config) as anyone:
        assert (await anyone.get_all(agent_id="other"))["total"] == 1
        assert (await anyone.get(ids["other"], agent_id="other"))["memory"] == "Pia the other agent likes tea"
        assert (await anyone.get_all(user_id="pia"))["total"] == 1


async def test_user_default_scopes_every_method(memory_config: dict[str, Any]) -> None:
    ids = await seed(memory_config)
    async with AsyncMemory(memory_config, user_id="pia") as pia:
        assert [r["id"] for r in (await pia.search("tea"))["results"]] == [ids["elsewhere"]]
        assert (await pia.get_all())["total"] == 1
        assert await pia.get(ids["other"]) is None
        assert (await pia.update(ids["elsewhere"], metadata={"checked": True}))["metadata"]["checked"] is True
        assert [e["event"] for e in await pia.history(ids["elsewhere"])] == ["ADD", "UPDATE"]
        added = (await pia.add("Pia likes coffee too", agent_id="bot", infer=False))["results"][0]
        assert (added["user_id"], added["agent_id"]) == ("pia", "bot")


def test_sync_memory_takes_the_defaults(memory_config: dict[str, Any]) -> None:
    with Memory(memory_config, user_id="sam", agent_id="bot") as sam:
        sam.reset()
        sam.add("Sam likes jazz", infer=False)
        assert [(r["user_id"], r["agent_id"]) for r in sam.get_all()["results"]] == [("sam", "bot")]
        assert sam.search("jazz")["results"][0]["memory"] == "Sam likes jazz"


async def test_require_scope_refuses_unscoped_reads_and_changes_nothing(memory_config: dict[str, Any]) -> None:
    ids = await seed(memory_config)
    async with AsyncMemory({**memory_config, "require_scope": True}) as strict:
        calls = {
            "search": strict.search("tea"), "get_all": strict.get_all(), "get": strict.get(ids["other"]),
            "update": strict.update(ids["other"], content="changed"), "delete": strict.delete(ids["other"]),
            "history": strict.history(ids["other"]),
        }
        for method, call in calls.items():
            with pytest.raises(InvalidInputError, match=f"^{method} needs user_id, agent_id or run_id: require_scope"):
                await call
        with pytest.raises(InvalidInputError, match="delete_all needs"):
            await strict.delete_all()
        # scoped calls work as ever
        assert (await strict.get(ids["other"], agent_id="other"))["memory"] == "Pia the other agent likes tea"
        assert (await strict.search("tea", user_id="pia"))["results"][0]["id"] == ids["elsewhere"]
        assert [e["event"] for e in await strict.history(ids["other"], agent_id="other")] == ["ADD"]
        # all=True stays the explicit way to reach every tenant
        assert await strict.delete_all(all=True) == {"deleted": 2}


async def test_require_scope_is_satisfied_by_the_instance_default(memory_config: dict[str, Any]) -> None:
    await seed(memory_config)
    async with AsyncMemory({**memory_config, "require_scope": True}, agent_id="other") as scoped:
        assert (await scoped.get_all())["total"] == 1
