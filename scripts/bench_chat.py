"""The time persona_chat adds around the model, per turn, on the corpus persona.

A conversation is played for HISTORY turns (so the context fills its token budget), then TURNS more
are measured, all against the tests' Ollama stand-in (an instant model on 127.0.0.1 speaking
Ollama's wire format). Baseline, in the same run: the stand-in asked directly with the official
`ollama` client for the same messages, streamed. What the server adds (context assembly, memory
search, storing both turns, the write gate, relationship, mood) is its processing_time minus that.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import ollama

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import PERSONA, Corpus, call, percentiles

from tests.ollama_standin import OllamaStandIn

HISTORY = 60
TURNS = 40
MODEL = "llama3.2"
_QUESTIONS = (
    "What did we do at the lake last summer?",
    "Do you remember who fixed the leaking roof?",
    "Tell me again about the jazz record.",
    "How was the trip to Lisbon?",
    "What did Sam say about the camping tent?",
)


async def _baseline(host: str, messages: list[dict[str, str]]) -> float:
    """Seconds for the stand-in alone to stream a reply to `messages`."""
    client = ollama.AsyncClient(host=host)
    started = time.perf_counter()
    async for _ in await client.chat(model=MODEL, messages=messages, stream=True):
        pass
    return time.perf_counter() - started


async def measure(corpus: Corpus, standin: OllamaStandIn) -> dict[str, Any]:
    conversation: str | None = None
    chat, server, baseline = [], [], []
    for turn in range(HISTORY + TURNS):
        arguments: dict[str, Any] = {
            "message": f"{_QUESTIONS[turn % len(_QUESTIONS)]} (turn {turn})",
            "persona_id": PERSONA,
        }
        if conversation:
            arguments["conversation_id"] = conversation
        started = time.perf_counter()
        reply = await call(corpus.client, "persona_chat", **arguments)
        elapsed = time.perf_counter() - started
        conversation = reply["conversation_id"]
        if turn < HISTORY:
            continue
        chat.append(elapsed * 1000)
        server.append(reply["processing_time"] * 1000)
        sent = [body for path, body in standin.requests if path == "/api/chat"][-1]["messages"]
        baseline.append(await _baseline(standin.url, sent) * 1000)
    context = await call(
        corpus.client,
        "persona_context",
        message=_QUESTIONS[0],
        persona_id=PERSONA,
        conversation_id=conversation,
    )
    added = [s - b for s, b in zip(server, baseline, strict=True)]
    return {
        "memories": (await call(corpus.client, "memory_stats", persona_id=PERSONA))["total"],
        "history_turns": HISTORY,
        "context_tokens": context["tokens"],
        "token_budget": context["token_budget"],
        "baseline_model_ms": percentiles(baseline),
        "chat_client_ms": percentiles(chat),
        "chat_server_ms": percentiles(server),
        "added_by_server_ms": percentiles(added),
    }


def table(row: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| | p50 | p95 |",
            "|---|---|---|",
            f"| baseline: the stand-in model alone | {row['baseline_model_ms']['p50']:.1f} ms "
            f"| {row['baseline_model_ms']['p95']:.1f} ms |",
            f"| `persona_chat`, client round trip | {row['chat_client_ms']['p50']:.1f} ms "
            f"| {row['chat_client_ms']['p95']:.1f} ms |",
            f"| `persona_chat`, server `processing_time` | {row['chat_server_ms']['p50']:.1f} ms "
            f"| {row['chat_server_ms']['p95']:.1f} ms |",
            f"| **added by the server** | **{row['added_by_server_ms']['p50']:.1f} ms** "
            f"| {row['added_by_server_ms']['p95']:.1f} ms |",
        ]
    )
