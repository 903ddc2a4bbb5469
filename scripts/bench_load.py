"""HTTP load: many concurrent MCP sessions on one server process.

Each session is an MCP session over streamable HTTP (its own connection and Mcp-Session-Id),
connected and past tools/list before the clock starts. Two kinds of client:
  sdk   the official SDK's Client, as an agent written in Python would use it;
  wire  WireSession below, JSON-RPC over HTTP as a load generator speaks it.
The clients share the machine's two cores with the server. The SDK's client spends about 19 ms of
CPU per call (it checks each result against the tool's output schema and builds typed models),
nearly as much as the server's whole search, so with 200 SDK sessions the run measures the
clients' CPU as much as the server's; the wire client costs about 3 ms a call, and its figures
are the server's. Real users' clients run on their own machines.

The clients run in worker processes of 50 sessions each: one Python process driving 200 SDK
sessions was itself the bottleneck. Sessions act like people using an assistant: they wait a
random think time (exponential, mean `think_s`), then call memory_search (4 in 5) or memory_store
(1 in 5). Every call's latency and every error is kept. A closed-loop run (no think time)
measures what one process can do flat out, which the users-per-process estimate divides by a
user's call rate.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import NOTE_WORDS, PERSONA, percentiles, queries

from persona_mcp.cli import GC_THRESHOLDS
from tests.processes import http_client

STORE_SHARE = 0.2
PROTOCOL = "2025-11-25"
SESSIONS_PER_WORKER = 50  # one Python process drives about this many sessions before it is the bottleneck


class WireSession:
    """One MCP session spoken over HTTP directly, as a load generator (k6, Locust) would:
    initialize, notifications/initialized, then tools/call, and DELETE at the end. The server does
    the same work as for any client; this client's own work per call is one JSON parse, where the
    SDK's client also checks every result against the tool's output schema and builds typed
    models (about 19 ms of CPU a call here, on the cores the server needs)."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self._http, self._url = http, url
        self._headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        self._next_id = 0

    async def _post(self, method: str, params: dict[str, Any], notify: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            self._next_id += 1
            message["id"] = self._next_id
        response = await self._http.post(self._url, content=orjson.dumps(message), headers=self._headers)
        response.raise_for_status()
        if session := response.headers.get("mcp-session-id"):
            self._headers["mcp-session-id"] = session
        if notify:
            return {}
        body = response.content
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            lines = body.split(b"\n")
            body = next(line[5:] for line in lines if line.startswith(b"data:") and b'"id"' in line)
        reply: dict[str, Any] = orjson.loads(body)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]  # type: ignore[no-any-return]

    async def open(self) -> None:
        info = {"name": "bench-load", "version": "1"}
        result = await self._post(
            "initialize", {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": info}
        )
        self._headers["mcp-protocol-version"] = result["protocolVersion"]
        await self._post("notifications/initialized", {}, notify=True)
        await self._post("tools/list", {})

    async def call(self, tool: str, arguments: dict[str, Any]) -> str | None:
        """None on success, else the error's text."""
        result = await self._post("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError") or "structuredContent" not in result:
            return " ".join(block.get("text", "") for block in result.get("content", []))
        return None

    async def close(self) -> None:
        await self._http.delete(self._url, headers=self._headers)


async def _sessions(
    url: str, numbers: range, start_at: float, seconds: float, think_s: float, wire: bool
) -> dict[str, Any]:
    """Run the sessions `numbers` from `start_at` (wall clock) for `seconds`: latencies and errors.
    `wire`: WireSession clients instead of the SDK's. `url` may list several servers (comma
    separated): session n talks to the n-th, round robin."""
    servers = url.split(",")
    latencies: dict[str, list[float]] = {"memory_search": [], "memory_store": []}
    errors: list[str] = []
    late: list[int] = []  # sessions still connecting when the clock started
    deadline = start_at + seconds
    texts = queries(50)

    async def calls(number: int, call: Callable[[str, dict[str, Any]], Awaitable[str | None]]) -> None:
        rng = random.Random(f"{start_at}:{number}")  # new notes each run: repeats would be deduplicated
        if time.time() > start_at:
            late.append(number)
        await anyio.sleep(max(0.0, start_at - time.time()))
        while True:
            pause = rng.expovariate(1 / think_s) if think_s else 0.0
            if time.time() + pause >= deadline:
                # The next call would come after the end. Stay connected until the end, as a user
                # would: closing now would put this session's teardown inside the others' window.
                await anyio.sleep(max(0.0, deadline - time.time()))
                return
            await anyio.sleep(pause)
            if rng.random() < STORE_SHARE:
                tool = "memory_store"
                # Random words: notes alike in meaning would be merged as near-duplicates.
                note = f"Session {number} noted {' '.join(rng.sample(NOTE_WORDS, 6))}."
                arguments: dict[str, Any] = {"content": note, "persona_id": PERSONA}
            else:
                tool = "memory_search"
                arguments = {"query": rng.choice(texts), "persona_id": PERSONA, "n_results": 10}
            started = time.perf_counter()
            error = await call(tool, arguments)
            latencies[tool].append((time.perf_counter() - started) * 1000)
            if error is not None:
                errors.append(f"{tool}: {error[:200]}")

    async def session(number: int) -> None:
        url = servers[number % len(servers)]
        try:
            if wire:
                async with httpx2.AsyncClient(timeout=60) as http:
                    client = WireSession(http, url)
                    await client.open()
                    await calls(number, client.call)
                    await client.close()
                return
            async with http_client(url, mode="legacy") as sdk:
                # What a client does on connecting (and what the SDK's client needs to check results
                # against the tools' output schemas), done before the clock starts.
                await sdk.list_tools()

                async def call(tool: str, arguments: dict[str, Any]) -> str | None:
                    result = await sdk.call_tool(tool, arguments)
                    if not result.is_error:
                        return None
                    return " ".join(getattr(b, "text", "") for b in result.content)

                await calls(number, call)
        except Exception as exc:  # a failed connection or a dropped session is an error of the run
            errors.append(f"session {number}: {type(exc).__name__}: {exc}"[:300])

    async with anyio.create_task_group() as group:
        for number in numbers:
            group.start_soon(session, number)
    return {"latencies": latencies, "errors": errors, "late": late}


async def load(
    url: str | Sequence[str], sessions: int, seconds: float, think_s: float, wire: bool = False
) -> dict[str, Any]:
    """`sessions` sessions, spread over worker processes of SESSIONS_PER_WORKER each (so the
    clients' own Python is not what is measured), all calling from the same instant; over several
    servers (`url` a list), round robin."""
    url = url if isinstance(url, str) else ",".join(url)
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
                "wire" if wire else "sdk",
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
    latencies: dict[str, list[float]] = {"memory_search": [], "memory_store": []}
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
        "client": "wire" if wire else "sdk",
        "seconds": seconds,
        "calls": calls,
        "calls_per_s": round(calls / seconds, 1),
        "errors": len(errors),
        "error_samples": errors[:5],
        "sessions_late": late,
        **{
            tool.split("_", 1)[1] + "_ms": percentiles(values) for tool, values in latencies.items() if values
        },
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| sessions | client | think time | seconds | calls/s | errors | search p50 | search p99 "
        "| store p50 | store p99 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        search, store = run.get("search_ms", {}), run.get("store_ms", {})
        think = f"{run['think_s']:g} s" if run["think_s"] else "none (flat out)"
        lines.append(
            f"| {run['sessions']} | {run.get('client', 'sdk')} | {think} | {run['seconds']:g} "
            f"| {run['calls_per_s']:.1f} | {run['errors']} "
            f"| {search.get('p50', 0):.1f} ms | {search.get('p99', 0):.1f} ms "
            f"| {store.get('p50', 0):.1f} ms | {store.get('p99', 0):.1f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # a worker: URL FIRST END START_AT SECONDS THINK_S CLIENT; JSON to stdout
    # The server's own thresholds: 50 sessions in one heap would otherwise stop this worker for
    # full collections, and the pauses would count as the server's latency.
    gc.set_threshold(*GC_THRESHOLDS)
    url, first, end, start_at, seconds, think_s, client = sys.argv[1:8]
    numbers = range(int(first), int(end))
    result = anyio.run(
        _sessions, url, numbers, float(start_at), float(seconds), float(think_s), client == "wire"
    )
    sys.stdout.buffer.write(orjson.dumps(result))
