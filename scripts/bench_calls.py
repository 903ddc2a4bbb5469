"""Tool-call round trip: a trivial persona-mcp tool against a bare MCPServer echo tool, over the
in-memory transport, stdio (a real subprocess) and streamable HTTP (a real subprocess).

The baseline is the SDK's own floor on the same transport in the same run, so the ratio says
what persona-mcp adds. Calls are sequential (one client), after a warm-up.

Usage: python scripts/bench_calls.py [--calls 300] [--json FILE|-]
Prints a table (p50, p99, calls/s, p50 ratio to baseline); the JSON holds every sample.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' process helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import BASELINE_SERVER, echo_server
from _report import main as cli
from _report import nearest_rank

from core.config import Settings
from persona_mcp import build_server
from tests.processes import free_port, http_client, wait_until_listening

TRIVIAL = ("persona_templates", {})  # reads the shipped template list: no database, no model
ECHO = ("echo", {"text": "hi"})
TARGET_STDIO_P50_MS = 2.0
_WARMUP = 20


async def _settled(client: Client) -> None:
    """Wait until persona-mcp's background start-up (loading the embedding model) is done, so
    the calls measure a running server, not one still importing torch (bench_startup measures that)."""
    with anyio.fail_after(120):
        while True:
            result = await client.call_tool("system_status", {})
            if (result.structured_content or {}).get("embedder", {}).get("loaded"):
                return
            await anyio.sleep(0.2)


async def _time_calls(client: Client, tool: tuple[str, dict[str, Any]], calls: int) -> list[float]:
    name, arguments = tool
    if name != ECHO[0]:
        await _settled(client)
    for _ in range(_WARMUP):
        await client.call_tool(name, arguments)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool(name, arguments)
        samples.append(time.perf_counter() - started)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content}")
    return samples


@contextmanager
def _listening(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(process, port, None)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def run(calls: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        baseline_file = root / "echo_server.py"
        baseline_file.write_text(BASELINE_SERVER)
        env = {
            **os.environ,
            "PERSONA_MCP_DATA_DIR": str(root / "data"),
            "PERSONA_MCP_LOG_LEVEL": "WARNING",
            "PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0",  # one client calling flat out is the point here
            "PERSONA_MCP_TOOLSETS": "all",
        }
        settings = Settings(data_dir=root / "data", toolsets=("all",))

        async with Client(echo_server(), mode="legacy") as client:
            baseline = await _time_calls(client, ECHO, calls)
        async with Client(build_server(settings), mode="legacy") as client:
            samples["in-memory"] = {
                "baseline": baseline,
                "persona-mcp": await _time_calls(client, TRIVIAL, calls),
            }

        stdio_base = StdioServerParameters(command=sys.executable, args=[str(baseline_file)], env=env)
        stdio_ours = StdioServerParameters(command=sys.executable, args=["-m", "persona_mcp"], env=env)
        async with Client(stdio_base, mode="legacy") as client:
            baseline = await _time_calls(client, ECHO, calls)
        async with Client(stdio_ours, mode="legacy") as client:
            samples["stdio"] = {
                "baseline": baseline,
                "persona-mcp": await _time_calls(client, TRIVIAL, calls),
            }

        port = free_port()
        with _listening([sys.executable, str(baseline_file), str(port)], env, port) as url:
            async with http_client(url, mode="legacy") as client:
                baseline = await _time_calls(client, ECHO, calls)
        port = free_port()
        serve = [sys.executable, "-m", "persona_mcp", "serve", "--transport", "http", "--port", str(port)]
        with _listening(serve, env, port) as url:
            async with http_client(url, mode="legacy") as client:
                samples["http"] = {
                    "baseline": baseline,
                    "persona-mcp": await _time_calls(client, TRIVIAL, calls),
                }

    summary: dict[str, dict[str, Any]] = {}
    for transport, cases in samples.items():
        summary[transport] = {name: _stats(values) for name, values in cases.items()}
        ours, base = summary[transport]["persona-mcp"], summary[transport]["baseline"]
        ours["p50_ratio_to_baseline"] = ours["p50_ms"] / base["p50_ms"]
    return {
        "benchmark": "tool call round trip",
        "tool": TRIVIAL[0],
        "calls": calls,
        "python": sys.version.split()[0],
        "summary": summary,
        "target": {
            "stdio_p50_ms": TARGET_STDIO_P50_MS,
            "met": summary["stdio"]["persona-mcp"]["p50_ms"] < TARGET_STDIO_P50_MS,
        },
        "samples_ms": {
            t: {n: [round(v * 1000, 4) for v in vs] for n, vs in c.items()} for t, c in samples.items()
        },
    }


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": nearest_rank(ordered, 0.99) * 1000,
        "calls_per_s": len(ordered) / sum(ordered),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['calls']} sequential calls per case after a warm-up: `{result['tool']}` (no database, "
        "no model) against a bare MCPServer echo tool on the same transport.",
        "",
        "| transport | baseline p50 | persona-mcp p50 | p99 | calls/s | x baseline (p50) |",
        "|---|---|---|---|---|---|",
    ]
    for transport, cases in result["summary"].items():
        ours, base = cases["persona-mcp"], cases["baseline"]
        lines.append(
            f"| {transport} | {base['p50_ms']:.2f} ms | {ours['p50_ms']:.2f} ms | {ours['p99_ms']:.2f} ms "
            f"| {ours['calls_per_s']:,.0f} | {ours['p50_ratio_to_baseline']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    cli(__doc__, run, table, "--calls", 300)


if __name__ == "__main__":
    main()
