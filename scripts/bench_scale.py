"""Scale-out: store and search over HTTP with 1, 2 and 4 worker processes on one PostgreSQL, against
one process on SQLite, at each corpus size.

Each configuration serves one persona filled to the size (memory_store_batch through the first
worker; PostgreSQL is filled once per size and shared by its 1, 2 and 4 worker runs). Then
`SESSIONS` wire sessions (bench_load.WireSession: the server's work, not the client's), spread
round robin over the workers, call flat out for `SECONDS`: memory_search 4 in 5, memory_store 1
in 5. Throughput is calls a second; latency is per call, p50 and p99. PostgreSQL is the pgserver
wheel's (16 with pgvector), on the same machine as everything else: on a host with fewer cores
than processes the workers share them, so the figures say what the engine costs per call more
than how far more machines would go.

Usage: python scripts/bench_scale.py [--sizes 10000 100000] [--json scale.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_load
from _corpus import PERSONA, Corpus, call
from _report import emit

from tests.processes import ServerProcess, http_client, http_server

WORKERS = (1, 2, 4)
SESSIONS = 24
SECONDS = 20.0
_ENV = {
    "PERSONA_MCP_TEST_CLOCK": "true",
    "PERSONA_MCP_DECAY_ENABLED": "false",
    "PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0",
    "PERSONA_MCP_HTTP_MAX_CONNECTIONS_PER_CLIENT": "0",
    "PERSONA_MCP_SEED_PERSONAS": "false",
    "OLLAMA_HOST": "http://127.0.0.1:9",
}


@contextmanager
def _servers(folder: Path, count: int, **env: str) -> Iterator[list[ServerProcess]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(http_server(folder / f"worker{i}", stderr=None, **_ENV, **env))
            for i in range(count)
        ]


async def _ready(url: str) -> None:
    async with http_client(url, mode="legacy") as client:
        with anyio.fail_after(180):
            while not (await call(client, "system_status"))["embedder"]["loaded"]:  # noqa: ASYNC110
                await anyio.sleep(0.2)
        if PERSONA not in {p["id"] for p in (await call(client, "persona_list"))["personas"]}:
            await call(client, "persona_create", id=PERSONA, name="Bench", interests=["music", "boats"])


async def _fill(url: str, folder: Path, size: int) -> dict[str, float]:
    async with http_client(url, mode="legacy") as client:
        return await Corpus(None, client, folder).fill_to(size)  # type: ignore[arg-type]


async def _measure(urls: list[str]) -> dict[str, Any]:
    return await bench_load.load(urls, SESSIONS, SECONDS, 0.0, wire=True)


async def run(sizes: list[int]) -> dict[str, Any]:
    import pgserver
    import psycopg

    report: dict[str, Any] = {"sessions": SESSIONS, "seconds": SECONDS, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        root = Path(scratch)
        postgres = pgserver.get_server(str(root / "pg"), cleanup_mode="stop")
        try:
            with psycopg.connect(postgres.get_uri(), autocommit=True) as connection:
                connection.execute("CREATE DATABASE scale")
            url = postgres.get_uri().replace("/postgres?", "/scale?")
            for size in sorted(sizes):
                print(f"scale: {size:,} memories", file=sys.stderr, flush=True)
                with _servers(root / "sqlite", 1) as (alone,):
                    await _ready(alone.url)
                    fill = await _fill(alone.url, root / "sqlite", size)
                    row = {"engine": "sqlite", "servers": 1, "size": size, "fill_per_s": fill["per_s"]}
                    report["runs"].append({**row, **await _measure([alone.url])})
                fill_rate = 0.0
                for workers in WORKERS:
                    with _servers(root / "pg", workers, PERSONA_MCP_DATABASE_URL=url) as running:
                        for server in running:
                            await _ready(server.url)
                        if workers == 1:
                            fill_rate = (await _fill(running[0].url, root / "pg", size))["per_s"]
                        row = {
                            "engine": "postgresql",
                            "servers": workers,
                            "size": size,
                            "fill_per_s": fill_rate,
                        }
                        report["runs"].append({**row, **await _measure([s.url for s in running])})
                    print(f"  postgresql x{workers} done", file=sys.stderr, flush=True)
        finally:
            postgres.cleanup()
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['sessions']} wire sessions, flat out for {report['seconds']:g} s "
        "(search 4 in 5, store 1 in 5), spread over the workers.",
        "",
        "| memories | engine | workers | store_batch fill | calls/s | errors | search p50 | search p99 "
        "| store p50 | store p99 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        search, store = run.get("search_ms", {}), run.get("store_ms", {})
        lines.append(
            f"| {run['size']:,} | {run['engine']} | {run['servers']} | {run['fill_per_s']:.0f}/s "
            f"| {run['calls_per_s']:.1f} | {run['errors']} "
            f"| {search.get('p50', 0):.1f} ms | {search.get('p99', 0):.1f} ms "
            f"| {store.get('p50', 0):.1f} ms | {store.get('p99', 0):.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--json", default="bench-scale.json", help="JSON report path ('-' for stdout)")
    args = parser.parse_args()
    report = anyio.run(run, args.sizes)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
