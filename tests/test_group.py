"""Group conversations through a real client, with the real `ollama` library against the stand-in:
who speaks next, personas answering each other, witness-scoped context and memory (a persona that
left the room does not know what was said without it), and chat moving relationships and feelings."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.ollama_standin import OllamaStandIn, echo_reply, run_standin

pytestmark = pytest.mark.anyio

SECRET = "My passport code is ZEBRA-42, please keep it between the two of you."


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    with run_standin({"nomic-embed-text": 16}, chat_models={"llama3.2": echo_reply}) as standin:
        yield standin


@pytest.fixture
async def client(settings: Settings, ollama: OllamaStandIn) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={
            "test_clock": True,
            "decay_enabled": False,
            "embedder": "ollama",
            "ollama_host": ollama.url,
            "chat_timeout_seconds": 5.0,
        }
    )
    async with Client(build_server(configured), raise_exceptions=True) as session:
        yield session


def _sent(ollama: OllamaStandIn) -> list[dict[str, Any]]:
    return [body for path, body in ollama.requests if path == "/api/chat"]


async def _room(client: Client) -> str:
    await call(client, "persona_create", name="Milo", interests=["cooking", "markets"], talkativeness=0.3)
    room = await call(client, "conversation_start", participants=["aria", "kira", "milo"], user_id="sam")
    return str(room["id"])


async def test_next_speaker_mentions_and_rotation(client: Client) -> None:
    room = await _room(client)
    named = await call(
        client, "conversation_next_speaker", conversation_id=room, message="Dr. Kira Tanaka, a word?"
    )
    assert (named["persona_id"], named["reason"]) == ("kira", "mention")
    drawn = await call(
        client, "conversation_next_speaker", conversation_id=room, message="Hello all!", seed=5
    )
    again = await call(
        client, "conversation_next_speaker", conversation_id=room, message="Hello all!", seed=5
    )
    assert drawn == again
    assert drawn["reason"] in ("talkativeness", "rotation")
    assert set(drawn["weights"]) == {"aria", "kira", "milo"}
    await call(client, "persona_chat", message="Hello all!", persona_id="aria", conversation_id=room)
    after = await call(client, "conversation_next_speaker", conversation_id=room)
    assert after["weights"]["aria"] < min(after["weights"]["kira"], after["weights"]["milo"])  # just spoke
    spoken = await call(client, "conversation_speak", conversation_id=room)
    assert spoken["persona_id"] == after["persona_id"]  # speak without persona_id follows next_speaker
    missing = await call_error(client, "conversation_next_speaker", conversation_id="nope")
    assert "conversation_id" in missing


async def test_a_persona_that_left_does_not_know_what_was_said(client: Client, ollama: OllamaStandIn) -> None:
    room = await _room(client)
    await call(
        client,
        "persona_chat",
        message="Hello everyone, lovely to see you all today.",
        persona_id="aria",
        conversation_id=room,
    )
    left = await call(client, "conversation_leave", conversation_id=room, persona_id="milo")
    assert left["present"] == ["aria", "kira"]
    assert "milo" in left["participants"]
    refused = await call_error(
        client, "persona_chat", message="Milo?", persona_id="milo", conversation_id=room
    )
    assert "conversation_join" in refused

    told = await call(client, "persona_chat", message=SECRET, persona_id="aria", conversation_id=room)
    secret_memory = next(
        m
        for m in (await call(client, "memory_search", query="passport code", persona_id="aria"))["memories"]
        if "ZEBRA-42" in m["memory"]["content"]
    )["memory"]
    assert secret_memory["id"] in told["memories_stored"]
    assert secret_memory["witnesses"] == ["kira"]  # present: Kira; Milo had left
    transcript = (await call(client, "conversation_history", conversation_id=room))["messages"]
    said = {m["content"]: m["witnesses"] for m in transcript}
    assert said[SECRET] == ["aria", "kira"]  # the transcript shows who was in the room for each turn
    assert "milo" in said["Hello everyone, lovely to see you all today."]

    kira = await call(client, "conversation_speak", conversation_id=room, persona_id="kira")
    assert "ZEBRA-42" in kira["response"]  # she heard it: it is the turn she answers
    assert kira["relationship"]["party"] == "aria"  # she answered Aria's reply: their bond moved

    await call(client, "conversation_join", conversation_id=room, persona_id="milo")
    context = await call(
        client, "persona_context", message="What did I miss?", persona_id="milo", conversation_id=room
    )
    seen = context["system_prompt"] + " ".join(m["content"] for m in context["messages"])
    assert "ZEBRA" not in seen
    assert "lovely to see you all" in seen  # what it was there for
    assert secret_memory["id"] not in context["memories_used"]
    kira_view = await call(
        client,
        "persona_context",
        message="What was the passport code?",
        persona_id="kira",
        conversation_id=room,
    )
    assert "ZEBRA-42" in " ".join(m["content"] for m in kira_view["messages"])
    assert secret_memory["id"] in kira_view["memories_used"]  # witnessed, so she may recall it

    await call(client, "persona_chat", message="What did I miss?", persona_id="milo", conversation_id=room)
    assert "ZEBRA" not in str(_sent(ollama)[-1])  # nothing of it reached the model for Milo
    milo_search = await call(
        client, "memory_search", query="passport code ZEBRA", persona_id="milo", include_witnessed=True
    )
    assert all("ZEBRA" not in m["memory"]["content"] for m in milo_search["memories"])
    kira_search = await call(
        client, "memory_search", query="passport code ZEBRA", persona_id="kira", include_witnessed=True
    )
    assert secret_memory["id"] in [m["memory"]["id"] for m in kira_search["memories"]]
    history = await call(client, "conversation_history", conversation_id=room)
    assert any("ZEBRA" in m["content"] for m in history["messages"])  # the user saw everything

    ended = await call(client, "conversation_end", conversation_id=room)
    assert "ZEBRA" in ended["summary"] or ended["summary"]
    reflections = {
        m["persona_id"]: m["content"]
        for m in [(await call(client, "memory_get", memory_id=mid)) for mid in ended["memories_created"]]
    }
    assert set(reflections) == {"aria", "kira", "milo"}
    assert "ZEBRA" in reflections["aria"]
    assert "ZEBRA" in reflections["kira"]
    assert "ZEBRA" not in reflections["milo"]

    told_now = await call(client, "memory_update", memory_id=secret_memory["id"], told_to=["milo"])
    assert told_now["witnesses"] == ["kira", "milo"]
    milo_search = await call(
        client, "memory_search", query="passport code ZEBRA", persona_id="milo", include_witnessed=True
    )
    assert secret_memory["id"] in [m["memory"]["id"] for m in milo_search["memories"]]
    plain = await call(client, "memory_search", query="passport code ZEBRA", persona_id="milo")
    assert secret_memory["id"] not in [m["memory"]["id"] for m in plain["memories"]]  # only when asked


async def test_a_reply_that_passes_a_memory_on_tells_the_room(client: Client) -> None:
    room = await _room(client)
    note = await call(
        client, "memory_store", persona_id="aria", content="The hidden door opens with a silver key."
    )
    await call(
        client,
        "persona_chat",
        persona_id="aria",
        conversation_id=room,
        message="The hidden door opens with a silver key, they say.",
    )
    assert sorted((await call(client, "memory_get", memory_id=note["memory"]["id"]))["witnesses"]) == [
        "kira",
        "milo",
    ]


async def test_chat_moves_the_user_relationship_and_tires_the_persona(client: Client) -> None:
    start = await call(client, "emotional_get_state", persona_id="kira")
    drops = []
    energy = start["energy"]
    conversation = None
    for turn in range(20):
        reply = await call(
            client,
            "persona_chat",
            persona_id="kira",
            user_id="sam",
            message=f"Thanks, that was wonderful! Tell me another story, number {turn}.",
            **({"conversation_id": conversation} if conversation else {}),
        )
        conversation = reply["conversation_id"]
        drops.append(energy - reply["emotional_state"]["energy"])
        energy = reply["emotional_state"]["energy"]
    assert drops[-1] > drops[0] > 0  # a long session tires faster
    assert reply["emotional_state"]["valence"] > start["valence"]  # pleasant words lifted the mood
    bond = await call(client, "relationship_get", persona_a="user:sam", persona_b="kira")
    assert bond["interaction_count"] == 20
    assert bond["affinity"] > 0.3
    assert bond["type"] in ("friend", "close_friend")
    assert reply["relationship"]["type"] == bond["type"]
    history = await call(client, "emotional_history", persona_id="kira", limit=1)
    assert history["total_count"] == 20
    assert "user:sam said" in history["states"][0]["reason"]
    await call(client, "system_clock_advance", hours=12)
    rested = await call(client, "emotional_get_state", persona_id="kira")
    assert rested["energy"] > energy + 0.5 * (start["energy"] - energy)  # rest restores energy
    context = await call(client, "persona_context", persona_id="kira", user_id="sam", message="Hi again")
    assert f"({bond['type']})" in context["system_prompt"]


async def test_without_ollama_a_sampling_client_voices_a_persona_in_the_room(
    settings: Settings, mode: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    asked: list[CreateMessageRequestParams] = []

    async def sampling(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        asked.append(params)
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="Indeed, Aria."), model="client-model"
        )

    configured = settings.model_copy(
        update={"ollama_host": closed, "embedder": "ollama", "chat_timeout_seconds": 2.0}
    )
    async with Client(build_server(configured), mode=mode, sampling_callback=sampling) as client:  # type: ignore[arg-type]
        room = (await call(client, "conversation_start", participants=["aria", "kira"]))["id"]
        unknown = await call_error(client, "conversation_join", conversation_id=room, persona_id="ghost")
        assert "persona_id" in unknown
        assert "ghost" in unknown
        await call(client, "conversation_leave", conversation_id=room, persona_id="kira")
        again = await call_error(client, "conversation_leave", conversation_id=room, persona_id="kira")
        assert "not in the room" in again
        await call(client, "conversation_join", conversation_id=room, persona_id="kira")
        spoken = await call(client, "conversation_speak", conversation_id=room, persona_id="kira")
        assert (spoken["provider"], spoken["response"], spoken["persona_id"]) == (
            "sampling",
            "Indeed, Aria.",
            "kira",
        )
        assert "Kira" in (asked[0].system_prompt or "")
        assert "next reply" in (asked[0].system_prompt or "")  # the cue to speak, as a system note
        history = await call(client, "conversation_history", conversation_id=room)
        assert [(m["role"], m["persona_id"]) for m in history["messages"]] == [("assistant", "kira")]
