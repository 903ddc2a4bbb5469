"""Memory lifecycle through a real client: simulated time, decay, pruning with its safety limits,
the archive, and the background task. Vectors come from the Ollama stand-in (fast, real Chroma)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.ollama_standin import OllamaStandIn, run_standin
from tests.store_rows import run

pytestmark = pytest.mark.anyio


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    with run_standin({"nomic-embed-text": 16}) as standin:
        yield standin


@pytest.fixture
def timed(settings: Settings, ollama: OllamaStandIn) -> Settings:
    """Test clock on, background decay off (each test drives decay itself), stand-in vectors."""
    return settings.model_copy(
        update={
            "test_clock": True,
            "decay_enabled": False,
            "embedder": "ollama",
            "ollama_host": ollama.url,
            "prune_min_keep": 30,
        }
    )


@pytest.fixture
async def client(timed: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(timed), raise_exceptions=True) as session:
        yield session


async def strengths(client: Client, ids: list[str]) -> list[float]:
    return [(await call(client, "memory_get", memory_id=i))["strength"] for i in ids]


def expected_exponential(memory: dict[str, Any], days: float, kind_rate: float = 1.0) -> float:
    rate = 0.05 * kind_rate * (1 - 0.5 * memory["emotion"]["intensity"])
    return math.exp(-rate * days)


async def test_thirty_simulated_days_decay_to_the_closed_form_and_a_rerun_changes_nothing(
    client: Client,
) -> None:
    plain = (await call(client, "memory_store", content="Bought bread at the corner shop.", importance=0.2))[
        "memory"
    ]
    fact = (
        await call(
            client,
            "memory_store",
            content="Water boils at 100 C at sea level.",
            kind="semantic",
            importance=0.2,
        )
    )["memory"]
    pinned = (
        await call(client, "memory_store", content="The spare key is under the blue pot.", importance=0.2)
    )["memory"]
    await call(client, "memory_update", memory_id=pinned["id"], pinned=True)
    vital = (await call(client, "memory_store", content="Grandma's surgery went well.", importance=0.9))[
        "memory"
    ]
    assert plain["emotion"]["label"]
    assert 0 <= plain["emotion"]["intensity"] <= 1

    moved = await call(client, "system_clock_advance", days=30)
    assert moved["offset_seconds"] == pytest.approx(30 * 86_400)
    result = await call(client, "memory_decay_force")
    assert result["examined"] >= 4
    assert result["changed"] >= 4
    got = await strengths(client, [plain["id"], fact["id"], pinned["id"], vital["id"]])
    assert got[0] == pytest.approx(expected_exponential(plain, 30), abs=1e-5)
    assert got[1] == pytest.approx(expected_exponential(fact, 30, kind_rate=0.3), abs=1e-5)
    assert got[2] == 0.5  # pinned: the floor
    assert got[3] == 0.5  # importance 0.9 >= 0.8: the floor

    again = await call(client, "memory_decay_force")
    assert again["changed"] == 0
    assert await strengths(client, [plain["id"], fact["id"], pinned["id"], vital["id"]]) == got


async def test_a_server_off_for_a_week_catches_up_exactly(timed: Settings) -> None:
    log_settings = timed.model_copy(update={"decay_mode": "logarithmic"})  # not memoryless: a real check
    async with Client(build_server(log_settings)) as client:
        for persona in ("daily", "offline"):
            await call(
                client, "persona_create", id=persona, name=persona.title(), template="friendly-companion"
            )
        daily = await call(client, "memory_store", content="Fed the cat.", persona_id="daily", importance=0.1)
        off = await call(client, "memory_store", content="Fed the dog.", persona_id="offline", importance=0.1)
        for _ in range(7):  # this persona's memories are decayed every simulated day
            await call(client, "system_clock_advance", days=1)
            await call(client, "memory_decay_force", persona_id="daily")
        (daily_strength,) = await strengths(client, [daily["memory"]["id"]])
    # A new process: the other persona's memories are decayed once, a week after they were stored.
    async with Client(build_server(log_settings)) as client:
        await call(client, "system_clock_advance", days=7)
        await call(client, "memory_decay_force", persona_id="offline")
        (off_strength,) = await strengths(client, [off["memory"]["id"]])
    intensity = daily["memory"]["emotion"]["intensity"]
    assert off["memory"]["emotion"]["intensity"] == intensity
    closed_form = 1 - 0.05 * (1 - 0.5 * intensity) * math.log(1 + 7)
    assert daily_strength == pytest.approx(closed_form, abs=1e-5)
    assert off_strength == pytest.approx(closed_form, abs=1e-5)


async def test_forced_decay_with_another_curve_becomes_the_new_starting_point(client: Client) -> None:
    memory = (await call(client, "memory_store", content="Walked along the canal.", importance=0.1))["memory"]
    forced = await call(client, "memory_decay_force", mode="linear", rate=0.5)
    assert forced["mode"] == "linear"
    assert forced["rate"] == 0.5
    assert forced["after"]["maximum"] == pytest.approx(1.0, abs=1e-3)  # no time has passed yet
    await call(client, "system_clock_advance", days=1)
    forced = await call(client, "memory_decay_force", mode="linear", rate=0.5)
    (after_force,) = await strengths(client, [memory["id"]])
    assert after_force == pytest.approx(1 - 0.5 * (1 - 0.5 * memory["emotion"]["intensity"]), abs=1e-4)
    await call(client, "system_clock_advance", days=2)
    await call(client, "memory_decay_force")  # the configured exponential curve, from the forced value
    (later,) = await strengths(client, [memory["id"]])
    assert later == pytest.approx(after_force * expected_exponential(memory, 2), abs=1e-4)
    assert "`rate`" in await call_error(client, "memory_decay_force", rate=2)
    assert "`mode`" in await call_error(client, "memory_decay_force", mode="sideways")


async def _prunable_persona(client: Client) -> dict[str, list[str]]:
    """40 weak unimportant memories, 5 pinned, 5 important; then 60 simulated days of decay."""
    await call(client, "persona_create", id="bulk", name="Bulk", template="friendly-companion")
    weak = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": f"Routine note {i}: nothing much happened", "persona_id": "bulk", "importance": 0.1}
            for i in range(40)
        ],
    )
    pinned = await call(
        client,
        "memory_store_batch",
        items=[{"content": f"Pinned note {i}", "persona_id": "bulk", "importance": 0.1} for i in range(5)],
    )
    for memory_id in pinned["ids"]:
        await call(client, "memory_update", memory_id=memory_id, pinned=True)
    important = await call(
        client,
        "memory_store_batch",
        items=[{"content": f"Important note {i}", "persona_id": "bulk", "importance": 0.6} for i in range(5)],
    )
    await call(client, "system_clock_advance", days=60)
    await call(client, "memory_decay_force", persona_id="bulk")
    return {"weak": weak["ids"], "pinned": pinned["ids"], "important": important["ids"]}


async def _stored(client: Client, persona_id: str) -> dict[str, Any]:
    """memory_stats without the index's catch-up figures, which background sync moves at any time."""
    stats = await call(client, "memory_stats", persona_id=persona_id)
    return {key: value for key, value in stats.items() if key not in ("index_lag", "unembedded")}


async def test_pruning_keeps_its_safety_limits(client: Client) -> None:
    groups = await _prunable_persona(client)
    before = await _stored(client, "bulk")

    dry = await call(client, "memory_prune", persona_id="bulk", dry_run=True)
    assert dry["examined"] == 50
    assert dry["eligible"] == 40
    assert len(dry["pruned"]) == dry["pruned_count"] == 12  # 25% of 50
    assert dry["limited_by"] == ["max_fraction"]
    listed = await call(client, "memory_prune", persona_id="bulk", dry_run=True, limit=3)
    assert listed["pruned"] == dry["pruned"][:3]  # the weakest three listed, all twelve counted
    assert listed["pruned_count"] == 12
    assert await _stored(client, "bulk") == before  # a dry run changes nothing
    advice = await call(client, "memory_prune_recommendations", persona_id="bulk", limit=5)
    assert len(advice["candidates"]) == 5
    assert any("never recalled" in reason for reason in advice["candidates"][0]["reasons"])
    assert await _stored(client, "bulk") == before

    first = await call(client, "memory_prune", persona_id="bulk")
    archived = {c["memory_id"] for c in first["pruned"]}
    assert archived == {c["memory_id"] for c in dry["pruned"]}  # the dry run told the truth
    assert archived <= set(groups["weak"])  # never pinned, never important
    assert first["kept"] == 38
    second = await call(client, "memory_prune", persona_id="bulk")
    assert len(second["pruned"]) == 8  # 38 - min_keep 30, below 25% of 38 (9)
    assert second["limited_by"] == ["min_keep"]
    third = await call(client, "memory_prune", persona_id="bulk", max_fraction=1.0)
    assert third["pruned"] == []
    assert third["kept"] == 30
    assert third["limited_by"] == ["min_keep"]
    stats = await call(client, "memory_stats", persona_id="bulk")
    assert stats["total"] == 30
    assert stats["archived"] == 20
    for memory_id in groups["pinned"] + groups["important"]:
        assert (await call(client, "memory_get", memory_id=memory_id))["archived_at"] is None

    prune_stats = await call(client, "memory_prune_stats")
    assert prune_stats["runs"] == 3
    assert prune_stats["dry_runs"] == 2
    assert prune_stats["memories_archived"] == 20
    assert prune_stats["safety_stops"] == 3
    assert prune_stats["archived_now"] == 20
    assert "`max_fraction`" in await call_error(client, "memory_prune", persona_id="bulk", max_fraction=0)
    assert "ghost" in await call_error(client, "memory_prune", persona_id="ghost")


async def test_prune_all_reports_progress_for_every_persona(client: Client) -> None:
    await _prunable_persona(client)
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    result = await client.call_tool("memory_prune_all", {"dry_run": True}, progress_callback=progress)
    assert not result.is_error
    assert result.structured_content is not None
    personas = {r["persona_id"]: r for r in result.structured_content["personas"]}
    assert len(personas["bulk"]["pruned"]) == 12
    assert result.structured_content["total_pruned"] == 12
    assert len(updates) == len(personas)
    assert updates[-1][0] == updates[-1][1]
    assert any("bulk: would archive 12 of 50" in (message or "") for _, _, message in updates)


async def test_archived_memories_leave_search_and_restore_brings_them_back_exactly(client: Client) -> None:
    await _prunable_persona(client)
    pruned = (await call(client, "memory_prune", persona_id="bulk"))["pruned"]
    target = pruned[0]["memory_id"]
    archived = await call(client, "memory_get", memory_id=target)
    assert archived["archived_at"] is not None
    found = await call(client, "memory_search", query=archived["content"], persona_id="bulk", n_results=50)
    assert target not in {hit["memory"]["id"] for hit in found["memories"]}

    restored = await call(client, "memory_restore", memory_id=target)
    unchanged = (
        "content",
        "importance",
        "strength",
        "kind",
        "visibility",
        "metadata",
        "emotion",
        "access_count",
    )
    assert {k: restored[k] for k in unchanged} == {k: archived[k] for k in unchanged}
    assert restored["archived_at"] is None
    found = await call(client, "memory_search", query=archived["content"], persona_id="bulk", n_results=5)
    assert found["memories"][0]["memory"]["id"] == target
    await call(
        client, "memory_decay_force", persona_id="bulk"
    )  # no time passed: the restore kept its strength
    assert (await call(client, "memory_get", memory_id=target))["strength"] == archived["strength"]


async def test_recall_and_repetition_reinforce_a_faded_memory(client: Client) -> None:
    memory = (
        await call(client, "memory_store", content="The lighthouse keeper waved at us.", importance=0.2)
    )["memory"]
    await call(client, "system_clock_advance", days=40)
    await call(client, "memory_decay_force")
    (faded,) = await strengths(client, [memory["id"]])
    plain = await call(client, "memory_search", query="lighthouse keeper")  # reinforce defaults to false
    assert plain["memories"][0]["memory"]["strength"] == faded
    recalled = await call(client, "memory_search", query="lighthouse keeper", reinforce=True)
    hit = recalled["memories"][0]["memory"]
    assert hit["strength"] == pytest.approx(faded + 0.5 * (1 - faded) + 0.1, abs=1e-6)
    assert hit["access_count"] == 1
    await call(client, "memory_decay_force")  # the recall is the new anchor: no time since, no change
    assert (await strengths(client, [memory["id"]]))[0] == pytest.approx(hit["strength"], abs=1e-6)
    again = await call(client, "memory_store", content="The lighthouse keeper waved at us.")
    assert again["duplicate_of"] == memory["id"]
    assert again["memory"]["access_count"] == 2


async def test_the_clock_tool_exists_only_in_test_mode(settings: Settings, client: Client) -> None:
    names = {tool.name for tool in (await client.list_tools()).tools}
    assert "system_clock_advance" in names
    assert "Invalid days" in await call_error(client, "system_clock_advance")
    async with Client(build_server(settings)) as plain:
        assert "system_clock_advance" not in {tool.name for tool in (await plain.list_tools()).tools}


async def _wait_for(condition: Any, seconds: float = 15.0) -> None:
    with anyio.fail_after(seconds):
        while not await condition():  # noqa: ASYNC110 - polling the server through its tools
            await anyio.sleep(0.1)


async def test_background_decay_runs_survives_a_failure_and_stops_on_shutdown(timed: Settings) -> None:
    background = timed.model_copy(update={"decay_enabled": True, "decay_interval_seconds": 1.0})
    with anyio.fail_after(60):
        async with Client(build_server(background)) as client:
            memory = (
                await call(client, "memory_store", content="A kite stuck in the oak tree.", importance=0.2)
            )["memory"]
            stats = await call(client, "memory_decay_stats")
            assert stats["running"] is True
            assert stats["interval_seconds"] == 1.0
            await call(client, "system_clock_advance", days=10)

            async def faded() -> bool:
                return (await strengths(client, [memory["id"]]))[0] < 0.9

            await _wait_for(faded)
            assert (await call(client, "memory_decay_stats"))["runs"] >= 1

            # A damaged row makes runs fail; they are counted and the loop carries on.
            run(timed, "UPDATE memories SET anchor_at = 'not a time' WHERE id = ?", (memory["id"],))

            async def failed() -> bool:
                return (await call(client, "memory_decay_stats"))["failures"] >= 1

            await _wait_for(failed)
            assert "not a time" in (await call(client, "memory_decay_stats"))["last_error"]
            run(timed, "UPDATE memories SET anchor_at = updated_at WHERE id = ?", (memory["id"],))
            runs = (await call(client, "memory_decay_stats"))["runs"]

            async def recovered() -> bool:
                return (await call(client, "memory_decay_stats"))["runs"] > runs

            await _wait_for(recovered)

            stopped = await call(client, "memory_decay_stop")
            assert stopped["running"] is False
            runs = (await call(client, "memory_decay_stats"))["runs"]
            await anyio.sleep(2.5)
            assert (await call(client, "memory_decay_stats"))["runs"] == runs
            started = await call(client, "memory_decay_start", interval_seconds=2)
            assert started["running"] is True
            assert started["interval_seconds"] == 2
            status = await call(client, "system_status")
            assert status["background_tasks"]["decay"].startswith("every 2s")
        # Leaving the session shut the server down: background tasks were cancelled in time.


async def test_decay_force_on_every_persona_reports_progress(client: Client) -> None:
    await call(client, "memory_store", content="Painted the fence green.")
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    result = await client.call_tool("memory_decay_force", {}, progress_callback=progress)
    assert not result.is_error
    personas = (await call(client, "persona_list"))["total_count"]
    assert [done for done, _, _ in updates] == list(range(1, personas + 1))
    assert all(total == personas for _, total, _ in updates)
    assert any((message or "").startswith("decayed aria") for _, _, message in updates)


async def test_closeness_to_the_subject_raises_importance(client: Client, timed: Settings) -> None:
    text = "{} brought soup when I was ill."
    before = (await call(client, "memory_store", content=text.format("Noor"), subject="noor"))["memory"]
    run(  # relationships get their own tools later
        timed,
        "INSERT INTO relationships (party_a, party_b, affinity, trust, familiarity, created_at, "
        "updated_at) VALUES ('aria', 'user:sam', 0.8, 0.9, 0.9, ?, ?)",
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    )
    after = (await call(client, "memory_store", content=text.format("Sam"), subject="sam"))["memory"]
    factors = after["metadata"]["importance_factors"]["factors"]
    assert factors["relationship"] == pytest.approx(0.5 * 0.9 + 0.25 * 0.9 + 0.25 * 0.8, abs=1e-3)
    assert before["metadata"]["importance_factors"]["factors"]["relationship"] == 0
    assert after["importance"] > before["importance"]


async def test_search_reports_mood_congruence(client: Client, timed: Settings) -> None:
    stored = (await call(client, "memory_store", content="Rowing on the lake at dawn."))["memory"]
    calm = (await call(client, "memory_search", query="rowing on the lake"))["memories"][0]
    assert calm["components"]["mood"] == 1.0  # stored in the mood the persona is still in
    await call(  # a distressed persona
        client, "emotional_update_state", valence=stored["emotion"]["valence"] - 1.0, arousal=0.9, stress=0.8
    )
    upset = (await call(client, "memory_search", query="rowing on the lake"))["memories"][0]
    assert upset["components"]["mood"] == pytest.approx(0.5, abs=1e-3)  # less a moment's drift
    assert upset["score"] < calm["score"]


async def test_background_maintenance_prunes_a_persona_that_passes_the_size_limit(timed: Settings) -> None:
    background = timed.model_copy(
        update={"decay_enabled": True, "decay_interval_seconds": 1.0, "prune_over": 40, "prune_min_keep": 10}
    )
    with anyio.fail_after(60):
        async with Client(build_server(background)) as client:
            items = [{"content": f"Small talk number {i}", "importance": 0.1} for i in range(48)]
            await call(client, "memory_store_batch", items=items)
            await call(client, "system_clock_advance", days=60)

            async def pruned() -> bool:
                return (await call(client, "memory_prune_stats"))["memories_archived"] > 0

            await _wait_for(pruned)
            stats = await call(client, "memory_prune_stats")
            assert stats["last_run"]["trigger"] == "size"
            assert stats["last_run"]["persona_id"] == "aria"
            assert stats["memories_archived"] == 12  # 25% of 48, once: 36 are left, under the limit
            assert (await call(client, "memory_stats", persona_id="aria"))["total"] == 36
