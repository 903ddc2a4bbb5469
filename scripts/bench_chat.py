"""The time persona.chat adds around the model, per turn, through a real MCP client.

Setup: a persona with N memories (default 10,000) and a conversation with a 200-turn history.
Then 50 persona.chat turns in that conversation, against the Ollama stand-in of the tests (an
instant model on 127.0.0.1 speaking Ollama's wire format). Baseline, in the same process: the same
stand-in asked directly with the official `ollama` client for a reply of the same length, streamed.
What the server adds (context assembly, storing both turns, the write gate, memories, mood) is
the chat time minus the baseline.

    python scripts/bench_chat.py --memories 10000 --json out.json
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import ollama
from mcp import Client

from core.app import PersonaCore
from core.config import load_settings
from core.memory import MemoryDraft
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Ollama stand-in
sys.path.insert(0, str(Path(__file__).parent))
from _report import main_with_memories, pairs_table
from bench_memory import call, sentences

from tests.ollama_standin import echo_reply, run_standin

PERSONA = "bench"
_HISTORY = 200
_TURNS = 50
_BATCH = 500
_QUESTIONS = [
    "What did we do at the lake last summer?",
    "Do you remember the pottery class with Maya?",
    "Tell me again about the jazz concert.",
    "How was the trip to the mountains?",
    "What did Sam say about the new job?",
]


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000, 2),
    }


async def _setup(settings: Any, memories: int) -> str:
    """Memories and a long conversation, written through the core before the server starts."""
    core = await PersonaCore.open(settings)
    try:
        await core.personas.create({"name": "Bench", "interests": ["jazz", "pottery"]}, persona_id=PERSONA)
        await core.memories.semantic.slot.load(settings.embedder, None, settings.ollama_host)
        texts = sentences(memories, seed=11)
        for start in range(0, len(texts), _BATCH):
            drafts = [MemoryDraft(content=t, persona_id=PERSONA) for t in texts[start : start + _BATCH]]
            await core.memories.store_batch(drafts)
        conversation = await core.conversations.start(PERSONA, None, "sam", "bench")
        for turn in range(_HISTORY):
            role = "user" if turn % 2 == 0 else "assistant"
            text = sentences(1, seed=turn)[0]
            await core.conversations.append(
                conversation.id, role, text, PERSONA if role == "assistant" else None
            )
        return conversation.id
    finally:
        await core.close()


async def _baseline(host: str, messages: list[dict[str, str]]) -> float:
    """Seconds for the stand-in alone to stream a reply to `messages`."""
    client = ollama.AsyncClient(host=host)
    started = time.perf_counter()
    async for _ in await client.chat(model="llama3.2", messages=messages, stream=True):
        pass
    return time.perf_counter() - started


async def run(memories: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-chat-") as folder,
        run_standin(chat_models={"llama3.2": echo_reply}) as standin,
    ):
        settings = load_settings(
            {}, data_dir=Path(folder), seed_personas=False, ollama_host=standin.url, decay_enabled=False
        )
        conversation_id = await _setup(settings, memories)
        print(f"  {memories} memories, {_HISTORY}-turn history", file=sys.stderr, flush=True)
        chat, server, baseline = [], [], []
        async with Client(build_server(settings)) as client:
            while (await call(client, "memory.stats", persona_id=PERSONA))["index_lag"]:  # noqa: ASYNC110
                await anyio.sleep(0.5)  # the server indexes what the setup stored before measuring
            await call(client, "memory.search", query="warm up", persona_id=PERSONA)
            for turn in range(_TURNS):
                question = f"{_QUESTIONS[turn % len(_QUESTIONS)]} (turn {turn})"
                started = time.perf_counter()
                reply = await call(
                    client,
                    "persona.chat",
                    message=question,
                    persona_id=PERSONA,
                    conversation_id=conversation_id,
                )
                chat.append(time.perf_counter() - started)
                server.append(reply["processing_time"])
                sent = [body for path, body in standin.requests if path == "/api/chat"][-1]["messages"]
                baseline.append(await _baseline(standin.url, sent))
            context = await call(
                client,
                "persona.context",
                message=_QUESTIONS[0],
                persona_id=PERSONA,
                conversation_id=conversation_id,
            )
        added = [c - b for c, b in zip(chat, baseline, strict=True)]
        added_server = [s - b for s, b in zip(server, baseline, strict=True)]
    return {
        "memories": memories,
        "history_turns": _HISTORY,
        "turns_measured": _TURNS,
        "context_tokens": context["tokens"],
        "token_budget": context["token_budget"],
        "memories_in_context": len(context["memories_used"]),
        "baseline_model_ms": _summary(baseline),
        "chat_client_ms": _summary(chat),
        "chat_server_ms": _summary(server),
        "added_by_server_ms": _summary(added_server),
        "added_incl_client_ms": _summary(added),
    }


def table(report: dict[str, Any]) -> str:
    rows = [
        ("setup", f"{report['memories']} memories, {report['history_turns']}-turn history"),
        (
            "context",
            f"{report['context_tokens']} of {report['token_budget']} tokens, "
            f"{report['memories_in_context']} memories",
        ),
        (
            "baseline: stand-in model alone",
            "p50 {p50} ms, p95 {p95} ms".format(**report["baseline_model_ms"]),
        ),
        ("persona.chat (client)", "p50 {p50} ms, p95 {p95} ms".format(**report["chat_client_ms"])),
        (
            "persona.chat (server processing_time)",
            "p50 {p50} ms, p95 {p95} ms".format(**report["chat_server_ms"]),
        ),
        (
            "added by the server (server - baseline)",
            "p50 {p50} ms, p95 {p95} ms".format(**report["added_by_server_ms"]),
        ),
        (
            "added incl. MCP client (client - baseline)",
            "p50 {p50} ms, p95 {p95} ms".format(**report["added_incl_client_ms"]),
        ),
    ]
    return pairs_table(rows)


def main() -> None:
    main_with_memories(__doc__, run, table)


if __name__ == "__main__":
    main()
