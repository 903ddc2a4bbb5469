"""The benchmarks' shared fixture: one real `persona-mcp` HTTP server process whose persona grows
through memory_store_batch (1k, then 10k, then 100k memories), so every figure at a size is taken
on the same data, and the memories are stored once per run instead of once per benchmark.

The server runs with the test clock (decay and pruning are driven by the benchmark), no rate limit
and the tests' Ollama stand-in as its chat model.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' process and stand-in helpers
from _report import percentiles

from tests.processes import ServerProcess, http_client, http_server

__all__ = ["NOTE_WORDS", "PERSONA", "Corpus", "call", "facts", "percentiles", "queries", "rss_mb"]

PERSONA = "bench"
BATCH = 500

_NAMES = [
    "Maya",
    "Tom",
    "Lena",
    "Sam",
    "Priya",
    "Jonas",
    "Kenji",
    "Ines",
    "Marco",
    "Aisha",
    "Olu",
    "Grace",
    "Tariq",
    "Noor",
    "Elena",
    "Felix",
    "Hana",
    "Diego",
    "Zoe",
    "Ravi",
    "Chloe",
    "Mateo",
    "Yuki",
    "Omar",
    "Clara",
    "Leo",
    "Amara",
    "Nils",
    "Sofia",
    "Jamal",
    "Ada",
    "Bruno",
    "Mei",
    "Luca",
    "Rosa",
    "Ivan",
    "Nadia",
    "Theo",
    "Lila",
    "Kofi",
]
_VERBS = [
    "fixed",
    "painted",
    "sold",
    "lost",
    "found",
    "borrowed",
    "cooked",
    "planted",
    "repaired",
    "photographed",
    "named",
    "moved",
    "built",
    "cleaned",
    "packed",
    "wrapped",
    "carried",
    "broke",
    "returned",
    "measured",
    "sketched",
    "tuned",
    "polished",
    "hid",
]
_THINGS = [
    "the garden shed",
    "a birthday cake",
    "the old bicycle",
    "a jazz record",
    "the leaking roof",
    "a chess set",
    "the new puppy",
    "a clay vase",
    "the camping tent",
    "a red kite",
    "the upright piano",
    "a patchwork quilt",
    "the rowing boat",
    "a brass lamp",
    "the kitchen table",
    "a wool scarf",
    "the violin",
    "a map of Lisbon",
    "the bird feeder",
    "a sourdough loaf",
    "the telescope",
    "a wedding dress",
    "the fish tank",
    "a leather diary",
    "the greenhouse",
    "a pair of skis",
    "the family album",
    "a canoe",
    "the treehouse",
    "a ceramic teapot",
    "the attic window",
    "a vintage camera",
    "the fence",
    "a kayak paddle",
    "the mailbox",
]
_WHEN = [
    "at the lake",
    "in March",
    "after work",
    "on the train",
    "at the market",
    "last winter",
    "in Lisbon",
    "after school",
    "on Sunday",
    "before the storm",
    "during the holidays",
    "at dawn",
    "in the rain",
    "for the festival",
    "at the cabin",
    "near the harbour",
    "on her birthday",
    "at midnight",
    "in the autumn",
    "after the move",
    "with the neighbours",
    "for the first time",
]
_QUERIES = (
    "who fixed the leaking roof",
    "birthday cake",
    "what happened in Lisbon",
    "the new puppy",
    "music and the piano",
    "things that broke in the rain",
    "the camping tent at the lake",
    "Maya and the garden",
    "a gift wrapped for the festival",
    "boats and paddles",
)


NOTE_WORDS = sorted({w for text in _NAMES + _VERBS + _THINGS for w in text.split()} - {"the", "a", "of"})


def facts(count: int, seed: int) -> list[str]:
    """Short memory-like facts (10-14 words), distinct, reproducible from the seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        text = (
            f"{rng.choice(_NAMES)} {rng.choice(_VERBS)} {rng.choice(_THINGS)} {rng.choice(_WHEN)}"
            f" with {rng.choice(_NAMES)}."
        )
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def queries(count: int) -> list[str]:
    return [_QUERIES[i % len(_QUERIES)] for i in range(count)]


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"{tool} failed: {' '.join(getattr(b, 'text', '') for b in result.content)}")
    return result.structured_content


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak, from /proc."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {
        key: round(int(status[name].split()[0]) / 1024, 1)
        for key, name in (("rss", "VmRSS"), ("peak", "VmHWM"))
    }


@dataclass
class Corpus:
    """The server, one client session on it, and how many memories the persona holds."""

    server: ServerProcess
    client: Client
    data_dir: Path
    stored: int = 0
    seed: int = 0
    fill_log: list[dict[str, float]] = field(default_factory=list)

    async def settled(self) -> dict[str, Any]:
        """Wait until the vector index has caught up with every stored memory."""
        with anyio.fail_after(600):
            while True:
                stats = await call(self.client, "memory_stats", persona_id=PERSONA)
                if stats["index_lag"] == 0:
                    return stats
                await anyio.sleep(0.5)

    async def fill_to(self, size: int) -> dict[str, float]:
        """Store facts with memory_store_batch until `size` live memories; the store rate, over
        the time the store calls took (not the count checks and fact generation between them).
        (Two batches in flight at once were no faster: embedding already keeps both cores busy.)"""
        started, added, storing = time.perf_counter(), 0, 0.0
        while (live := (await call(self.client, "memory_stats", persona_id=PERSONA))["total"]) < size:
            self.seed += 1
            texts = facts(min(BATCH, size - live), seed=self.seed * 7919 + size)
            items = [{"content": text, "persona_id": PERSONA} for text in texts]
            called = time.perf_counter()
            added += (await call(self.client, "memory_store_batch", items=items))["stored"]
            storing += time.perf_counter() - called
            print(f"\r  filling: {live + len(texts):,} of {size:,}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        seconds = time.perf_counter() - started
        self.stored = live
        rate = round(added / storing, 1) if added else 0.0
        row = {
            "to": size,
            "added": added,
            "seconds": round(seconds, 2),
            "storing_seconds": round(storing, 2),
            "per_s": rate,
        }
        self.fill_log.append(row)
        return row


@asynccontextmanager
async def corpus(data_dir: Path, ollama_url: str, **env: str) -> AsyncIterator[Corpus]:
    """Start the server on `data_dir`, wait for its embedding model, create the persona."""
    settings = {
        "PERSONA_MCP_TEST_CLOCK": "true",
        "PERSONA_MCP_DECAY_ENABLED": "false",
        "PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0",
        "PERSONA_MCP_HTTP_MAX_CONNECTIONS_PER_CLIENT": "0",  # 200 sessions all come from 127.0.0.1
        "PERSONA_MCP_HTTP_MAX_SESSIONS": "1000",
        "PERSONA_MCP_SEED_PERSONAS": "false",
        "OLLAMA_HOST": ollama_url,
        **env,
    }
    with http_server(data_dir, stderr=None, **settings) as server:
        async with http_client(server.url, mode="legacy") as client:
            with anyio.fail_after(120):
                while not (await call(client, "system_status"))["embedder"]["loaded"]:  # noqa: ASYNC110
                    await anyio.sleep(0.1)  # the server's own state, polled as a client would
            await call(client, "persona_create", id=PERSONA, name="Bench", interests=["music", "boats"])
            yield Corpus(server, client, data_dir)
