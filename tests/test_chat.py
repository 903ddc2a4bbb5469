"""persona_chat through a real client and the real `ollama` library, against the Ollama stand-in:
round trip, streaming as progress, continuing a conversation, the write gate, and failures that
store nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.ollama_standin import OllamaStandIn, echo_reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def chat_settings(settings: Settings, ollama: OllamaStandIn) -> Settings:
    return settings.model_copy(update={"ollama_host": ollama.url, "chat_timeout_seconds": 5.0})


@pytest.fixture
async def client(chat_settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(chat_settings), raise_exceptions=True) as session:
        yield session


def chat_requests(ollama: OllamaStandIn) -> list[dict[str, Any]]:
    return [body for path, body in ollama.requests if path == "/api/chat"]


async def test_a_chat_round_trip_streams_stores_and_moves_the_mood(
    client: Client, ollama: OllamaStandIn
) -> None:
    before = (await call(client, "persona_status"))["emotional_state"]
    chunks: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        chunks.append(message or "")

    message = "I adopted a puppy named Biscuit yesterday and I am so happy!"
    result = await client.call_tool(
        "persona_chat", {"message": message, "user_id": "sam"}, progress_callback=progress
    )
    assert not result.is_error
    assert result.structured_content is not None
    reply = result.structured_content
    assert reply["response"] == echo_reply([{"role": "user", "content": message}])
    assert "".join(chunks).strip() == reply["response"]  # streamed word by word while generating
    assert len(chunks) > 5
    assert reply["provider"] == "ollama"
    assert reply["model"] == "llama3.2"
    assert reply["tokens_used"] > 0
    assert 0 <= reply["continue_score"] <= 100
    assert reply["emotional_state"]["valence"] > before["valence"]  # "happy" lifted the mood

    sent = chat_requests(ollama)[0]
    assert sent["model"] == "llama3.2"
    assert sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert "Aria" in sent["messages"][0]["content"]
    assert sent["messages"][-1] == {"role": "user", "content": message}

    history = await call(client, "conversation_history", conversation_id=reply["conversation_id"])
    assert [(m["role"], m["persona_id"]) for m in history["messages"]] == [
        ("user", None),
        ("assistant", "aria"),
    ]
    stored = [await call(client, "memory_get", memory_id=i) for i in reply["memories_stored"]]
    user_memory = next(m for m in stored if m["source"] == "user")
    assert user_memory["content"] == message
    assert user_memory["subject"] == "sam"
    assert user_memory["conversation_id"] == reply["conversation_id"]
    persona_memory = next(m for m in stored if m["source"] == "persona")
    assert persona_memory["importance"] < user_memory["importance"]  # persona-inferred weighs less


async def test_a_second_turn_continues_with_history_and_memories(
    client: Client, ollama: OllamaStandIn
) -> None:
    first = await call(
        client, "persona_chat", message="My sister Maya plays the violin in Porto.", user_id="sam"
    )
    second = await call(
        client,
        "persona_chat",
        message="Which instrument does my sister Maya play?",
        conversation_id=first["conversation_id"],
    )
    assert second["conversation_id"] == first["conversation_id"]
    assert set(first["memories_stored"]) & set(second["memories_used"])  # remembered from turn one
    sent = chat_requests(ollama)[-1]["messages"]
    assert {"role": "user", "content": "My sister Maya plays the violin in Porto."} in sent
    assert "violin" in sent[0]["content"]  # the memory is in the system prompt
    status = await call(client, "conversation_status", conversation_id=first["conversation_id"])
    assert status["turns"] == 4
    used = await call(client, "memory_get", memory_id=second["memories_used"][0])
    assert used["access_count"] >= 1  # using a memory reinforces it


async def test_the_write_gate_skips_trivial_turns_and_echoes(client: Client, ollama: OllamaStandIn) -> None:
    trivial = await call(client, "persona_chat", message="ok thanks!")
    assert "user: trivial: a greeting, thanks or acknowledgement" in trivial["memories_skipped"]
    stored = await call(client, "memory_store", content="The user's favourite tea is smoky lapsang souchong.")
    ollama.chat_models["llama3.2"] = lambda messages: "Your favourite tea is smoky lapsang souchong."
    echo = await call(client, "persona_chat", message="Remind me, which tea do I like best these days?")
    assert stored["memory"]["id"] in echo["memories_used"]
    assert (
        f"persona: echo of memory {stored['memory']['id']} placed in the context" in echo["memories_skipped"]
    )


async def test_failures_are_clear_and_store_nothing(client: Client, ollama: OllamaStandIn) -> None:
    async def nothing_stored() -> None:
        assert (await call(client, "conversation_list"))["total_count"] == 0
        assert (await call(client, "memory_stats"))["total"] == 0

    ollama.fail_next = [500, 503, 500]  # three attempts, all failing
    error = await call_error(client, "persona_chat", message="Tell me a story about the sea.")
    assert "HTTP 500" in error
    assert "ollama serve" in error
    assert "persona_context" in error
    await nothing_stored()

    ollama.fail_after_chunks = 3  # the connection drops mid-reply
    error = await call_error(client, "persona_chat", message="Tell me a story about the sea.")
    assert "stopped in the middle of its reply" in error
    assert "nothing was stored" in error
    await nothing_stored()

    ollama.fail_after_chunks = None
    ollama.chat_models.clear()
    assert "ollama pull llama3.2" in await call_error(client, "persona_chat", message="Tell me a story.")
    await nothing_stored()

    ollama.chat_models["llama3.2"] = echo_reply
    ollama.fail_next = [502]  # one transient failure: retried, then it works
    reply = await call(client, "persona_chat", message="Tell me a story about the sea.")
    assert reply["response"].startswith("You said:")


async def test_a_slow_or_absent_ollama_times_out_or_says_how_to_start_it(
    chat_settings: Settings, ollama: OllamaStandIn
) -> None:
    ollama.chunk_delay = 2.0
    slow = chat_settings.model_copy(update={"chat_timeout_seconds": 0.5})
    async with Client(build_server(slow)) as client:
        error = await call_error(client, "persona_chat", message="Tell me a long story about the sea.")
        assert "stopped in the middle of its reply" in error
        assert (await call(client, "conversation_list"))["total_count"] == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    absent = chat_settings.model_copy(update={"ollama_host": closed})
    async with Client(build_server(absent)) as client:
        error = await call_error(client, "persona_chat", message="Hello there, how are you today?")
        assert f"not reachable at {closed}" in error
        assert "ollama serve" in error
        assert f"not reachable at {closed}" in await call_error(client, "system_models")
        context = await call(client, "persona_context", message="Hello there, how are you today?")
        assert context["messages"][-1]["content"] == "Hello there, how are you today?"


async def test_system_models_lists_what_ollama_offers(client: Client) -> None:
    listed = await call(client, "system_models")
    assert listed["reachable"] is True
    assert listed["models"] == ["llama3.2"]


async def test_without_ollama_a_client_that_samples_answers_as_the_persona(
    chat_settings: Settings, mode: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = chat_settings.model_copy(update={"ollama_host": closed})
    asked: list[CreateMessageRequestParams] = []

    async def sampling(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        asked.append(params)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text="Ah, the sea! I sang of it in Silverwood once."),
            model="client-model-1",
        )

    async with Client(build_server(settings), mode=mode, sampling_callback=sampling) as client:  # type: ignore[arg-type]
        await call(client, "memory_store", content="Sam grew up in a fishing village by the sea.")
        reply = await call(client, "persona_chat", message="Do you like the sea?", user_id="sam")
        assert reply["provider"] == "sampling"
        assert reply["model"] == "client-model-1"
        assert reply["response"] == "Ah, the sea! I sang of it in Silverwood once."
        params = asked[0]
        assert "Aria" in (params.system_prompt or "")
        assert "fishing village" in (params.system_prompt or "")
        assert params.messages[-1].content.text == "Do you like the sea?"  # type: ignore[union-attr]
        assert params.model_preferences is not None
        assert params.model_preferences.hints[0].name == "llama3.2"
        history = await call(client, "conversation_history", conversation_id=reply["conversation_id"])
        assert [m["content"] for m in history["messages"]] == ["Do you like the sea?", reply["response"]]
    async with Client(build_server(settings), mode=mode) as plain:  # no sampling, no Ollama
        assert "ollama serve" in await call_error(plain, "persona_chat", message="Do you like the sea?")


async def test_a_cancelled_chat_stores_nothing_and_the_server_carries_on(
    client: Client, ollama: OllamaStandIn
) -> None:
    ollama.chunk_delay = 0.5  # a slow model: the call is cancelled mid-reply
    with anyio.move_on_after(1.0) as scope:
        await client.call_tool("persona_chat", {"message": "Tell me a very long story about the sea."})
    assert scope.cancelled_caught
    await anyio.sleep(0.5)
    assert (await call(client, "conversation_list"))["total_count"] == 0
    assert (await call(client, "memory_stats"))["total"] == 0
    ollama.chunk_delay = 0.0
    reply = await call(client, "persona_chat", message="Then tell me a short one about the sea.")
    assert reply["response"].startswith("You said:")
    await anyio.sleep(5)  # the cancelled reply would have finished by now had it kept running
    assert (await call(client, "conversation_list"))["total_count"] == 1
