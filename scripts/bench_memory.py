"""Memory store throughput and search latency at growing sizes, through a real MCP client.

For each size (default 1k, 10k, 100k memories of one persona) the script fills the persona with
memory.store_batch, then measures single memory.store calls and memory.search latency (the
client's round trip, and the server's own time from the result's `elapsed_ms`). The
baseline, run in the same process on the same texts, is the embedder alone: storing cannot be
faster than embedding, and a search cannot be faster than embedding its query.

    python scripts/bench_memory.py                  # 1000 10000 100000
    python scripts/bench_memory.py --sizes 1000 10000 --json out.json

Prints a table, and JSON (to stdout with --json -, or to a file).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from core.config import load_settings
from core.embeddings import load_embedder
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).parent))
from _report import emit

PERSONA = "bench"
_BATCH = 500
_SEARCHES = 100
_SINGLE_STORES = 30

_PEOPLE = ["Maya", "Tom", "my sister", "the neighbour", "Dr. Osei", "our team lead", "Grandpa", "Lena", "Sam"]
_VERBS = [
    "talked about",
    "fixed",
    "planned",
    "worried about",
    "celebrated",
    "painted",
    "cooked",
    "argued over",
]
_THINGS = [
    "the garden shed",
    "a birthday cake",
    "the quarterly report",
    "an old bicycle",
    "the trip to Lisbon",
    "a jazz record",
    "the leaking roof",
    "a chess opening",
    "the new puppy",
    "a pottery class",
]
_PLACES = [
    "at the lake",
    "in the kitchen",
    "at work",
    "on the train",
    "at the market",
    "in the park",
    "online",
]
_WHY = [
    "because it was raining",
    "before the deadline",
    "after a long week",
    "to surprise everyone",
    "since nobody else would",
    "for the first time in years",
    "while the kids slept",
]
_QUERIES = [
    "who fixed the roof",
    "birthday plans",
    "trip to Lisbon",
    "what did Maya cook",
    "chess",
    "worries about work",
    "the new puppy",
    "pottery",
    "jazz music",
    "what happened at the lake",
]


def sentences(count: int, seed: int) -> list[str]:
    """Varied memory-like sentences (10-20 words), reproducible from the seed."""
    rng = random.Random(seed)
    return [
        f"On day {i}, {rng.choice(_PEOPLE)} and I {rng.choice(_VERBS)} {rng.choice(_THINGS)} "
        f"{rng.choice(_PLACES)} {rng.choice(_WHY)}; it felt {rng.choice(['odd', 'great', 'tiring', 'calm'])}."
        for i in range(count)
    ]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
    }


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"{tool} failed: {' '.join(getattr(b, 'text', '') for b in result.content)}")
    return result.structured_content


async def baseline(texts: list[str]) -> dict[str, float]:
    """The embedder alone: batch rate and single-query latency."""
    embedder = (await load_embedder("auto", None, "http://127.0.0.1:1")).embedder
    await embedder.embed(texts[:64])
    started = time.perf_counter()
    await embedder.embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    latencies = []
    for query in _QUERIES * 5:
        started = time.perf_counter()
        await embedder.embed([query])
        latencies.append((time.perf_counter() - started) * 1000)
    return {"embed_per_s": round(rate, 1), "query_embed_ms_p50": summary(latencies)["p50"]}


async def run(sizes: list[int]) -> dict[str, Any]:
    report: dict[str, Any] = {"sizes": {}}
    report["baseline"] = await baseline(sentences(2_000, seed=99))
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        settings = load_settings({}, data_dir=Path(folder), seed_personas=False)
        async with Client(build_server(settings)) as client:
            await call(client, "persona.create", id=PERSONA, name="Bench")
            stored = 0
            for size in sorted(sizes):
                texts = sentences(size - stored, seed=size)
                started = time.perf_counter()
                for start in range(0, len(texts), _BATCH):
                    items = [
                        {"content": text, "persona_id": PERSONA} for text in texts[start : start + _BATCH]
                    ]
                    await call(client, "memory.store_batch", items=items)
                batch_rate = len(texts) / (time.perf_counter() - started)
                stored = size
                singles = []
                for text in sentences(_SINGLE_STORES, seed=size + 1):
                    started = time.perf_counter()
                    await call(client, "memory.store", content="Single: " + text, persona_id=PERSONA)
                    singles.append((time.perf_counter() - started) * 1000)
                stored += _SINGLE_STORES
                await anyio.sleep(settings.index_sync_seconds * 2)  # let the index catch up
                latencies, server = [], []
                for query in (_QUERIES * (_SEARCHES // len(_QUERIES) + 1))[:_SEARCHES]:
                    started = time.perf_counter()
                    found = await call(client, "memory.search", query=query, persona_id=PERSONA, n_results=10)
                    latencies.append((time.perf_counter() - started) * 1000)
                    server.append(found["elapsed_ms"])
                stats = await call(client, "memory.stats", persona_id=PERSONA)
                report["sizes"][str(size)] = {
                    "memories": stats["total"],
                    "index_lag": stats["index_lag"],
                    "batch_store_per_s": round(batch_rate, 1),
                    "single_store_ms": summary(singles),
                    "search_ms": summary(latencies),
                    "search_server_ms": summary(server),
                }
                print(f"  {size}: done", file=sys.stderr, flush=True)
    base = report["baseline"]
    for row in report["sizes"].values():
        row["store_vs_embed"] = round(row["batch_store_per_s"] / base["embed_per_s"], 3)
        row["search_vs_query_embed"] = round(row["search_ms"]["p50"] / base["query_embed_ms_p50"], 2)
    return report


def table(report: dict[str, Any]) -> str:
    base = report["baseline"]
    lines = [
        f"baseline (embedder alone): {base['embed_per_s']} texts/s, "
        f"one query {base['query_embed_ms_p50']} ms",
        f"{'memories':>9} {'batch/s':>8} {'x embed':>8} {'store p50':>10} "
        f"{'search p50':>11} {'p95':>7} {'server p50':>11} {'x query':>8}",
    ]
    for size, row in report["sizes"].items():
        lines.append(
            f"{size:>9} {row['batch_store_per_s']:>8.1f} {row['store_vs_embed']:>8.2f} "
            f"{row['single_store_ms']['p50']:>8.1f}ms {row['search_ms']['p50']:>9.1f}ms "
            f"{row['search_ms']['p95']:>5.1f}ms {row['search_server_ms']['p50']:>9.1f}ms "
            f"{row['search_vs_query_embed']:>8.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--json", help="Write the JSON report here ('-' for stdout).")
    args = parser.parse_args()
    report = anyio.run(run, args.sizes)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
