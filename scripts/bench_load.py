"""HTTP load: many concurrent MCP sessions on one server process.

Each session is a real MCP client over streamable HTTP (its own connection and Mcp-Session-Id),
all connected before the clock starts. The clients run in worker processes of 50 sessions each:
one Python process driving 200 sessions was itself the bottleneck (a core at 83% while the server
used 35%). Sessions act like people using an assistant: they wait a random
think time (exponential, mean `think_s`), then call memory.search (4 in 5) or memory.store (1 in
5). Every call's latency and every error is kept. A closed-loop run (no think time) measures what
one process can do flat out, which the users-per-process estimate divides by a user's call rate.
The clients share the machine's cores with the server.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import PERSONA, percentiles, queries

from tests.processes import http_client

STORE_SHARE = 0.2


SESSIONS_PER_WORKER = 50  # one Python process drives about this many sessions before it is the bottleneck


async def _sessions(
    url: str, numbers: range, start_at: float, seconds: float, think_s: float
) -> dict[str, Any]:
    """Run the sessions `numbers` from `start_at` (wall clock) for `seconds`: latencies and errors."""
    latencies: dict[str, list[float]] = {"memory.search": [], "memory.store": []}
    errors: list[str] = []
    late: list[int] = []  # sessions still connecting when the clock started
    deadline = start_at + seconds
    texts = queries(50)

    async def session(number: int) -> None:
        rng = random.Random(100_003 + number)
        try:
            async with http_client(url, mode="legacy") as client:
                # What a client does on connecting (and what the SDK's client needs to check results
                # against the tools' output schemas), done before the clock starts.
                await client.list_tools()
                if time.time() > start_at:
                    late.append(number)
                await anyio.sleep(max(0.0, start_at - time.time()))
                while True:
                    pause = rng.expovariate(1 / think_s) if think_s else 0.0
                    if time.time() + pause >= deadline:
                        return  # the next call would come after the end: stop now, not after the pause
                    await anyio.sleep(pause)
                    if rng.random() < STORE_SHARE:
                        tool = "memory.store"
                        note = f"Session {number} noted item {rng.randrange(10**9)}."
                        arguments: dict[str, Any] = {"content": note, "persona_id": PERSONA}
                    else:
                        tool = "memory.search"
                        arguments = {"query": rng.choice(texts), "persona_id": PERSONA, "n_results": 10}
                    started = time.perf_counter()
                    result = await client.call_tool(tool, arguments)
                    latencies[tool].append((time.perf_counter() - started) * 1000)
                    if result.is_error:
                        text = " ".join(getattr(b, "text", "") for b in result.content)
                        errors.append(f"{tool}: {text[:200]}")
        except Exception as exc:  # a failed connection or a dropped session is an error of the run
            errors.append(f"session {number}: {type(exc).__name__}: {exc}"[:300])

    async with anyio.create_task_group() as group:
        for number in numbers:
            group.start_soon(session, number)
    return {"latencies": latencies, "errors": errors, "late": late}


async def load(url: str, sessions: int, seconds: float, think_s: float) -> dict[str, Any]:
    """`sessions` sessions, spread over worker processes of SESSIONS_PER_WORKER each (so the
    clients' own Python is not what is measured), all calling from the same instant."""
    workers = -(-sessions // SESSIONS_PER_WORKER)
    start_at = time.time() + 3.0 + sessions / 20  # time for every session to connect first
    script = __file__
    processes = [
        await anyio.open_process(
            [
                sys.executable,
                script,
                url,
                str(first),
                str(min(sessions, first + SESSIONS_PER_WORKER)),
                str(start_at),
                str(seconds),
                str(think_s),
            ]
        )
        for first in range(0, sessions, SESSIONS_PER_WORKER)
    ]
    outputs = []
    for process in processes:
        assert process.stdout is not None
        chunks = [chunk async for chunk in process.stdout]
        await process.wait()
        outputs.append(orjson.loads(b"".join(chunks)))
    latencies: dict[str, list[float]] = {"memory.search": [], "memory.store": []}
    errors: list[str] = []
    late = 0
    for output in outputs:
        late += len(output["late"])
        for tool, values in output["latencies"].items():
            latencies[tool] += values
        errors += output["errors"]
    calls = sum(len(values) for values in latencies.values())
    return {
        "sessions": sessions,
        "workers": workers,
        "think_s": think_s,
        "seconds": seconds,
        "calls": calls,
        "calls_per_s": round(calls / seconds, 1),
        "errors": len(errors),
        "error_samples": errors[:5],
        "sessions_late": late,
        **{tool.split(".")[1] + "_ms": percentiles(values) for tool, values in latencies.items() if values},
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| sessions | think time | calls/s | errors | search p50 | search p99 | store p50 | store p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        search, store = run.get("search_ms", {}), run.get("store_ms", {})
        think = f"{run['think_s']:g} s" if run["think_s"] else "none (flat out)"
        lines.append(
            f"| {run['sessions']} | {think} | {run['calls_per_s']:.1f} | {run['errors']} "
            f"| {search.get('p50', 0):.1f} ms | {search.get('p99', 0):.1f} ms "
            f"| {store.get('p50', 0):.1f} ms | {store.get('p99', 0):.1f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # a worker: URL FIRST END START_AT SECONDS THINK_S; JSON to stdout
    url, first, end, start_at, seconds, think_s = sys.argv[1:7]
    numbers = range(int(first), int(end))
    result = anyio.run(_sessions, url, numbers, float(start_at), float(seconds), float(think_s))
    sys.stdout.buffer.write(orjson.dumps(result))
