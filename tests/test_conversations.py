"""conversation_* and persona_context through a real client. Turns are added through the core on
the same data folder (persona_chat, which adds them in use, needs a model)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from core.app import PersonaCore
from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def side_core(settings: Settings) -> AsyncIterator[PersonaCore]:
    """A second core on the server's data folder (as another process would have)."""
    core = await PersonaCore.open(settings)
    try:
        yield core
    finally:
        await core.close()


async def add_turns(settings: Settings, conversation_id: str, turns: list[tuple[str, str]]) -> None:
    async with side_core(settings) as core:
        for role, content in turns:
            persona = "aria" if role == "assistant" else None
            await core.conversations.append(conversation_id, role, content, persona)  # type: ignore[arg-type]


async def test_start_list_status_and_history_with_paging(client: Client, settings: Settings) -> None:
    solo = await call(client, "conversation_start", title="Tea", user_id="sam")
    assert solo["participants"] == ["aria"]
    assert solo["status"] == "open"
    assert solo["turns"] == 0
    group = await call(client, "conversation_start", participants=["kira", "aria"])
    assert group["participants"] == ["kira", "aria"]
    assert "participants[1]" in await call_error(client, "conversation_start", participants=["aria", "ghost"])
    assert "participants" in await call_error(client, "conversation_start", participants=["aria"] * 9)

    await add_turns(
        settings, solo["id"], [("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(120)]
    )
    status = await call(client, "conversation_status")  # the active persona's latest open one
    assert status["id"] == solo["id"]
    assert status["turns"] == 120
    assert status["tokens"] > 120
    page = await call(client, "conversation_history", conversation_id=solo["id"], limit=50)
    assert [m["content"] for m in page["messages"]] == [f"turn {i}" for i in range(70, 120)]
    assert page["has_more"] is True
    older = await call(
        client,
        "conversation_history",
        conversation_id=solo["id"],
        limit=100,
        before=page["messages"][0]["id"],
    )
    assert [m["content"] for m in older["messages"]] == [f"turn {i}" for i in range(70)]
    assert older["has_more"] is False

    listed = await call(client, "conversation_list")
    assert [c["id"] for c in listed["conversations"]] == [solo["id"], group["id"]]  # latest activity first
    kira = await call(client, "conversation_list", persona_id="kira")
    assert [c["id"] for c in kira["conversations"]] == [group["id"]]
    assert "No conversation_id 'nope'" in await call_error(
        client, "conversation_history", conversation_id="nope"
    )


async def test_end_summarizes_into_reflective_memories_and_survives_a_restart(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        started = await call(
            client, "conversation_start", participants=["aria", "kira"], user_id="sam", title="News"
        )
        await add_turns(
            settings,
            started["id"],
            [
                ("user", "Hi!"),
                ("assistant", "Hello Sam, good to see you."),
                ("user", "I got married last June and we are moving to Lisbon next month!"),
                ("assistant", "That is wonderful news. Lisbon suits you."),
                ("user", "ok"),
            ],
        )
        ended = await call(client, "conversation_end", conversation_id=started["id"])
        assert "married" in ended["summary"]
        assert "Lisbon" in ended["summary"]
        assert "ok" not in ended["summary"].split()  # trivial turns carry nothing
        assert ended["conversation"]["status"] == "closed"
        assert len(ended["memories_created"]) == 2
        for memory_id in ended["memories_created"]:
            memory = await call(client, "memory_get", memory_id=memory_id)
            assert memory["kind"] == "reflective"
            assert memory["conversation_id"] == started["id"]
        assert {
            m["persona_id"]
            for m in [await call(client, "memory_get", memory_id=i) for i in ended["memories_created"]]
        } == {"aria", "kira"}
        assert "already closed" in await call_error(client, "conversation_end", conversation_id=started["id"])
    async with Client(build_server(settings)) as client:  # a new server process finds it all
        listed = await call(client, "conversation_list", status="closed")
        assert listed["conversations"][0]["summary"] == ended["summary"]
        found = await call(client, "memory_search", query="moving to Lisbon", persona_id="kira")
        assert found["memories"][0]["memory"]["id"] in ended["memories_created"]


async def test_context_brings_persona_mood_memories_and_a_stranger_note(client: Client) -> None:
    dog = (await call(client, "memory_store", content="The user's dog is called Biscuit."))["memory"]
    before = await call(client, "memory_stats")
    context = await call(client, "persona_context", message="What is my dog called?", user_id="sam")
    assert dog["id"] in context["memories_used"]
    assert "Biscuit" in context["system_prompt"]
    assert "Aria" in context["system_prompt"]
    assert "Your mood right now" in context["system_prompt"]
    assert "whom you have not met before" in context["system_prompt"]
    note = {"role": "system", "content": "Keep replies under 120 words unless asked for a song or a story."}
    assert context["messages"] == [note, {"role": "user", "content": "What is my dog called?"}]
    assert 0 < context["tokens"] <= context["token_budget"] == 4096
    after = await call(client, "memory_stats")
    assert {**after, "index_lag": 0} == {**before, "index_lag": 0}  # reading context changes nothing
    assert (await call(client, "memory_get", memory_id=dog["id"]))["access_count"] == 0


async def test_a_thousand_turns_fit_the_budget_with_a_running_summary(
    client: Client, settings: Settings
) -> None:
    await call(
        client, "persona_update", persona_id="aria", changes={"post_history_instructions": "Keep it short."}
    )
    conversation = await call(client, "conversation_start", user_id="sam")
    turns = [
        ("user", f"Day {i}: I practised the cello for {i % 5 + 1} hours.")
        if i % 2 == 0
        else ("assistant", f"Lovely, day {i} sounds productive.")
        for i in range(999)
    ]
    turns[10] = ("user", "My sister Maya was born on 3 March and I promised to visit her in Porto.")
    await add_turns(settings, conversation["id"], turns)
    for budget in (1000, 3000):
        context = await call(
            client,
            "persona_context",
            message="What should I do today?",
            conversation_id=conversation["id"],
            token_budget=budget,
        )
        assert context["tokens"] <= budget
        assert context["history_turns"] == 999
        assert 0 < context["summarized_turns"] < 999
        assert "Earlier in this conversation:" in context["system_prompt"]
        messages = context["messages"]
        assert messages[-1] == {"role": "user", "content": "What should I do today?"}
        assert messages[-4] == {"role": "system", "content": "Keep it short."}  # the author's note
        assert [m["content"] for m in messages[-3:-1]] == [turns[-2][1], turns[-1][1]]  # newest turns
        assert messages[-5]["content"] == turns[-3][1]
    assert "Maya" in context["system_prompt"]  # the important old turn survived in the summary


async def test_context_errors_name_the_argument(client: Client) -> None:
    other = await call(client, "conversation_start", persona_id="kira")
    assert "Invalid conversation_id" in await call_error(
        client, "persona_context", message="hi", persona_id="aria", conversation_id=other["id"]
    )
    assert "Invalid token_budget" in await call_error(
        client, "persona_context", message="word " * 400, token_budget=256
    )


async def test_roleplay_prompt_and_persona_resources(client: Client) -> None:
    fact = (await call(client, "memory_store", content="Sam's birthday is on 9 April.", importance=0.95))[
        "memory"
    ]
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert {a.name for a in prompts["roleplay"].arguments or []} == {
        "persona_id",
        "user_name",
        "conversation_id",
    }
    assert "\n    " not in (prompts["roleplay"].description or "")  # written for a reader
    result = await client.get_prompt("roleplay", {"persona_id": "aria", "user_name": "Sam"})
    first = result.messages[0].content
    assert result.messages[0].role == "user"
    assert first.type == "text"
    assert "play Aria" in first.text
    assert "The user is Sam" in first.text
    assert "Your mood right now" in first.text
    assert fact["content"] in first.text
    if len(result.messages) > 1:
        assert result.messages[1].role == "assistant"

    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"persona://{persona_id}", "persona://{persona_id}/memories"} <= templates
    card = await client.read_resource("persona://kira")
    assert json.loads(card.contents[0].text)["name"] == "Kira"  # type: ignore[union-attr]
    recent = json.loads((await client.read_resource("persona://aria/memories")).contents[0].text)  # type: ignore[union-attr]
    assert [m["id"] for m in recent] == [fact["id"]]


@pytest.mark.parametrize("mode", ["legacy"])
async def test_unknown_prompts_and_personas_are_invalid_params_with_a_plain_message(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no-such-prompt", {})
        assert unknown.value.code == INVALID_PARAMS
        assert unknown.value.message == "Unknown prompt 'no-such-prompt'. Prompts: roleplay."
        with pytest.raises(MCPError) as nobody:
            await client.get_prompt("roleplay", {"persona_id": "nobody"})
        assert nobody.value.code == INVALID_PARAMS
        assert "No persona_id 'nobody' exists" in nobody.value.message
        with pytest.raises(MCPError) as card:
            await client.read_resource("persona://nobody")
        assert card.value.code == INVALID_PARAMS
        assert "No persona_id 'nobody' exists" in card.value.message
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
