"""Beliefs over time through a real MCP session: a memory that supersedes another, search that
keeps to what is true now (or was true then), undo, time words, and no memory ever lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio

PARIS = "Sam lives in Paris, in a flat near the canal."
BERLIN = "Sam moved to Berlin and lives in Kreuzberg now."


async def moved(client: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    paris = (
        await call(
            client,
            "memory_store",
            content=PARIS,
            kind="semantic",
            subject="Sam",
            created_at="2024-01-10T09:00:00Z",
        )
    )["memory"]
    berlin = (
        await call(
            client,
            "memory_store",
            content=BERLIN,
            kind="semantic",
            subject="Sam",
            created_at="2024-03-01T12:00:00Z",
            supersedes=[paris["id"]],
        )
    )["memory"]
    return paris, berlin


async def contents(client: Client, **arguments: Any) -> list[str]:
    found = await call(client, "memory_search", query="where does Sam live", n_results=20, **arguments)
    return [hit["memory"]["content"] for hit in found["memories"]]


async def test_a_memory_that_supersedes_another_closes_it_and_search_keeps_to_what_is_true(
    client: Client,
) -> None:
    paris, berlin = await moved(client)
    old = await call(client, "memory_get", memory_id=paris["id"])
    assert old["valid_to"] == "2024-03-01T12:00:00Z"
    assert old["superseded_by"] == berlin["id"]
    assert old["content"] == PARIS  # nothing is deleted or rewritten
    assert berlin["valid_from"] == "2024-03-01T12:00:00Z"
    assert berlin["valid_to"] is None

    assert await contents(client) == [BERLIN]
    everything = await contents(client, include_superseded=True)
    assert sorted(everything) == sorted([PARIS, BERLIN])
    assert (await call(client, "memory_stats"))["total"] == 2  # both still there


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2024-01-10T08:59:59Z", []),  # before Paris began
        ("2024-01-10T09:00:00Z", [PARIS]),  # Paris begins
        ("2024-02-15T00:00:00Z", [PARIS]),
        ("2024-03-01T11:59:59.999999Z", [PARIS]),  # the last moment of Paris
        ("2024-03-01T12:00:00Z", [BERLIN]),  # Berlin begins as Paris ends
        ("2030-01-01T00:00:00Z", [BERLIN]),
    ],
)
async def test_as_of_answers_with_what_was_true_then(client: Client, as_of: str, expected: list[str]) -> None:
    await moved(client)
    assert await contents(client, as_of=as_of) == expected


async def test_a_supersession_can_be_undone_and_redone(client: Client) -> None:
    paris, berlin = await moved(client)
    reopened = await call(client, "memory_update", memory_id=paris["id"], valid_to="open")
    assert reopened["valid_to"] is None
    assert reopened["superseded_by"] is None
    assert sorted(await contents(client)) == sorted([PARIS, BERLIN])
    again = await call(client, "memory_supersede", old_id=paris["id"], new_id=berlin["id"])
    assert again["superseded_by"] == berlin["id"]
    assert again["valid_to"] == "2024-03-01T12:00:00Z"
    assert await contents(client) == [BERLIN]
    ended = await call(client, "memory_update", memory_id=berlin["id"], valid_to="2024-06-01T00:00:00Z")
    assert ended["valid_to"] == "2024-06-01T00:00:00Z"
    assert await contents(client) == []  # nothing about Sam's home is true any more


async def test_bad_supersessions_are_refused_and_change_nothing(client: Client) -> None:
    paris, berlin = await moved(client)
    kira = (await call(client, "memory_store", content="Kira keeps bees.", persona_id="kira"))["memory"]
    unknown = "0" * 32
    assert "No old_id" in await call_error(client, "memory_supersede", old_id=unknown, new_id=berlin["id"])
    assert "No new_id" in await call_error(client, "memory_supersede", old_id=paris["id"], new_id=unknown)
    assert "cannot replace itself" in await call_error(
        client, "memory_supersede", old_id=berlin["id"], new_id=berlin["id"]
    )
    assert "only its own persona's" in await call_error(
        client, "memory_supersede", old_id=kira["id"], new_id=berlin["id"]
    )
    assert "supersedes[0]" in await call_error(
        client, "memory_store", content="Sam has a cat.", supersedes=[unknown]
    )
    assert "before the memory's valid_from" in await call_error(
        client, "memory_update", memory_id=berlin["id"], valid_to="2020-01-01T00:00:00Z"
    )
    assert (await call(client, "memory_get", memory_id=kira["id"]))["valid_to"] is None
    assert (await call(client, "memory_get", memory_id=berlin["id"]))["valid_to"] is None


async def test_saying_an_old_thing_again_makes_it_true_again_as_a_new_memory(client: Client) -> None:
    paris, _ = await moved(client)
    back = await call(client, "memory_store", content=PARIS, kind="semantic", subject="Sam")
    assert back["duplicate_of"] is None  # not a reinforcement of the memory that stopped being true
    assert back["memory"]["id"] != paris["id"]
    assert PARIS in await contents(client)


async def test_when_takes_time_words_against_the_server_clock(client: Client) -> None:
    now = datetime.now(UTC)
    recent = (now - timedelta(days=2)).isoformat()
    older = (now - timedelta(days=40)).isoformat()
    await call(client, "memory_store", content="Sam ran a half marathon in the rain.", created_at=recent)
    await call(client, "memory_store", content="Sam ran his first 10k race.", created_at=older)
    found = await call(client, "memory_search", query="Sam ran a race", when="last 7 days")
    assert [hit["memory"]["content"] for hit in found["memories"]] == ["Sam ran a half marathon in the rain."]
    found = await call(client, "memory_search", query="Sam ran a race", when="last 2 months")
    assert len(found["memories"]) == 2
    refused = await call_error(client, "memory_search", query="Sam ran", when="in a while")
    assert "Invalid when: 'in a while'" in refused
    assert "last N days/weeks/months/years" in refused


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=8))
async def test_no_sequence_of_supersessions_loses_a_memory(client: Client, chain: list[int]) -> None:
    before = (await call(client, "memory_stats"))["total"]
    stored: dict[str, str] = {}
    new = 0
    for step, pick in enumerate(chain):
        content = f"Fact number {len(stored)} of a run of {len(chain)}: value {pick} at step {step}."
        older = sorted(stored)
        replaces = [older[pick % len(older)]] if older and pick % 3 else []
        made = await call(client, "memory_store", content=content, kind="semantic", supersedes=replaces)
        new += made["duplicate_of"] is None  # a repeat (of this run or an earlier one) reinforces
        stored[made["memory"]["id"]] = made["memory"]["content"]
        if older and pick % 4 == 0:
            await call(client, "memory_update", memory_id=older[pick % len(older)], valid_to="open")
    assert (await call(client, "memory_stats"))["total"] == before + new
    for memory_id, content in stored.items():
        assert (await call(client, "memory_get", memory_id=memory_id))["content"] == content


async def test_a_contradicting_fact_is_reported_and_left_alone_by_default(client: Client) -> None:
    paris = (
        await call(client, "memory_store", content="Sam lives in Paris.", kind="semantic", subject="Sam")
    )["memory"]
    await call(client, "memory_store", content="Sam works at Acme.", kind="semantic", subject="Sam")
    stored = await call(
        client, "memory_store", content="Sam moved to Berlin.", kind="semantic", subject="Sam"
    )
    assert stored["possible_conflicts"] == [
        {
            "memory_id": paris["id"],
            "attribute": "residence",
            "reason": "Sam's residence was paris, now berlin",
            "superseded": False,
            "method": "rule",  # no Ollama answers here
        }
    ]
    assert (await call(client, "memory_get", memory_id=paris["id"]))["valid_to"] is None
    episode = await call(
        client, "memory_store", content="Sam moved to Rome for a week of holiday.", subject="Sam"
    )
    assert episode["possible_conflicts"] == []  # an episode is not a standing fact


async def test_auto_supersede_applies_what_the_rule_flags(settings: Settings) -> None:
    automatic = settings.model_copy(update={"auto_supersede_rule": True})
    async with Client(build_server(automatic), raise_exceptions=True) as client:
        paris = (
            await call(client, "memory_store", content="Sam lives in Paris.", kind="semantic", subject="Sam")
        )["memory"]
        stored = await call(
            client, "memory_store", content="Sam moved to Berlin.", kind="semantic", subject="Sam"
        )
        assert [c["superseded"] for c in stored["possible_conflicts"]] == [True]
        old = await call(client, "memory_get", memory_id=paris["id"])
        assert old["superseded_by"] == stored["memory"]["id"]


async def test_entities_list_who_and_what_the_memories_mention_with_current_facts(client: Client) -> None:
    _, berlin = await moved(client)
    await call(
        client,
        "memory_store",
        content="Sam and Lena Park went hiking near Lake Tahoe.",
        created_at="2024-04-02T10:00:00Z",
    )
    await call(
        client,
        "memory_store",
        content="Lena Park started a pottery class.",
        subject="Lena Park",
        kind="semantic",
    )
    listed = await call(client, "memory_entities")
    names = [entity["name"] for entity in listed["entities"]]
    assert names[:2] == ["Sam", "Lena Park"]
    assert "Lake Tahoe" in names
    assert "The" not in names
    sam = listed["entities"][0]
    assert sam["mentions"] == 3
    assert sam["first_seen"] == "2024-01-10T09:00:00Z"
    assert sam["as_subject"] == 2
    assert [fact["memory_id"] for fact in sam["facts"]] == [berlin["id"]]  # Paris no longer holds
    resource = await client.read_resource("persona://aria/entities")
    assert "Lena Park" in resource.contents[0].text  # type: ignore[union-attr]
    assert (await call(client, "memory_entities", persona_id="kira"))["entities"] == []


async def test_reflection_turns_episodes_into_facts_with_their_sources(client: Client) -> None:
    now = datetime.now(UTC)
    episodes = [
        ("Caroline: I went to a support group yesterday and it was powerful.", 3),
        ("Caroline: I am applying to a counseling program in Boston next month.", 2),
        ("Melanie: My kids and I painted a sunset over the lake.", 2),
        ("Melanie: We camped at Lake Tahoe with the kids for 3 nights.", 1),
        ("Jon lost his job at the bank.", 1),
    ]
    ids = []
    for content, days in episodes:
        created = (now - timedelta(days=days)).isoformat()
        ids.append((await call(client, "memory_store", content=content, created_at=created))["memory"]["id"])
    first = await call(client, "memory_reflect")
    assert first["method"] == "extractive"
    assert first["episodes_read"] == 5
    by_subject = {fact["subject"]: fact for fact in first["facts"]}
    assert set(by_subject) == {"Caroline", "Melanie"}  # Jon is mentioned once: no pattern yet
    caroline = by_subject["Caroline"]
    day = now - timedelta(days=2)
    assert caroline["content"] == (
        f"Caroline (as of {day.day} {day:%B %Y}): I am applying to a counseling program in Boston next month."
    )
    assert sorted(caroline["sources"]) == sorted(ids[:2])
    stored = await call(client, "memory_get", memory_id=caroline["memory_id"])
    assert stored["kind"] == "semantic"
    assert stored["metadata"]["method"] == "extractive"
    assert sorted(stored["metadata"]["sources"]) == sorted(ids[:2])
    assert (await call(client, "memory_stats"))["total"] == 7  # nothing lost: 5 episodes, 2 facts

    again = await call(client, "memory_reflect")
    assert again["facts_created"] == 0  # known facts are reinforced, not repeated
    assert again["facts_known"] == 2
    assert (await call(client, "memory_stats"))["total"] == 7
    old = await call(client, "memory_reflect", since=(now - timedelta(days=1, hours=12)).isoformat())
    assert old["episodes_read"] == 2  # Melanie camping and Jon: one episode each, no pattern
    assert old["facts"] == []


async def test_a_chat_context_prefers_what_is_true_and_says_what_changed(client: Client) -> None:
    await moved(client)
    context = await call(client, "persona_context", message="Where does Sam live these days?")
    prompt = context["system_prompt"] + str(context["messages"])
    assert f"- {BERLIN} (Before that: {PARIS})" in prompt
    assert prompt.count("Paris") == 1  # the old home only as the change, not as a current fact


async def test_a_time_named_in_the_query_is_a_soft_preference(client: Client) -> None:
    now = datetime.now(UTC)
    last_week = now - timedelta(days=now.weekday() + 3)  # within last week, whatever today is
    earlier = now - timedelta(days=60)
    await call(
        client,
        "memory_store",
        content="Sam went climbing at the gym with Ana.",
        created_at=earlier.isoformat(),
    )
    await call(
        client,
        "memory_store",
        content="Sam went climbing at the crag with Ana.",
        created_at=last_week.isoformat(),
    )
    found = await call(client, "memory_search", query="Where did Sam go climbing last week?")
    first, second = found["memories"][:2]
    assert first["memory"]["content"] == "Sam went climbing at the crag with Ana."
    assert first["components"]["when"] == 1.0
    assert second["components"]["when"] == 0.0  # still found: a preference, not a filter
    plain = await call(client, "memory_search", query="Where did Sam go climbing?")
    assert all(hit["components"]["when"] == 0.0 for hit in plain["memories"])


async def test_ending_a_conversation_reflects_in_the_background_when_enabled(settings: Settings) -> None:
    reflective = settings.model_copy(update={"reflect_interval_minutes": 60.0})
    async with Client(build_server(reflective), raise_exceptions=True) as client:
        started = await call(client, "conversation_start", persona_id="aria")
        for text in (
            "Sam: I booked a week of hiking around Lake Tahoe with my brother for next June.",
            "Sam: The cabin at Lake Tahoe has a wood stove and no internet at all.",
        ):
            await call(client, "memory_store", content=text, conversation_id=started["id"])
        await call(client, "conversation_end", conversation_id=started["id"], summarize=False)
        with anyio.fail_after(30):
            while True:
                found = await call(client, "memory_search", query="Lake Tahoe", kinds=["semantic"])
                facts = [
                    h["memory"]
                    for h in found["memories"]
                    if h["memory"]["metadata"].get("method") == "extractive"
                ]
                if facts:
                    break
                await anyio.sleep(0.2)
        assert "Lake Tahoe" in facts[0]["content"]
        assert len(facts[0]["metadata"]["sources"]) == 2
