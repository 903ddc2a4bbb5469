"""Cold start: time from spawning `persona-mcp` (stdio) to its first tools/list reply.

Measured three ways in one run, so the numbers mean something on a noisy machine:
  baseline   a bare MCPServer with one echo tool (the SDK's own floor)
  cold       persona-mcp on a new, empty data folder (creates and seeds the database)
  warm       persona-mcp on a data folder that already exists

Usage: python scripts/bench_startup.py [--runs 10] [--json results.json]
Prints a table; writes JSON with every sample, medians, p95 and ratios to baseline.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import BASELINE_SERVER
from _report import main as cli
from _report import nearest_rank


async def _time_to_tools_list(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_s": statistics.median(ordered),
        "p95_s": nearest_rank(ordered, 0.95),
        "min_s": ordered[0],
    }


async def run(runs: int) -> dict[str, Any]:
    """Alternate the three cases run by run so drift in machine load hits all of them alike."""
    samples: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        baseline_file = root / "echo_server.py"
        baseline_file.write_text(BASELINE_SERVER)
        warm_dir = root / "warm"
        quiet = {**os.environ, "PERSONA_MCP_LOG_LEVEL": "WARNING"}

        def persona(data_dir: Path) -> StdioServerParameters:
            env = {**quiet, "PERSONA_MCP_DATA_DIR": str(data_dir)}
            return StdioServerParameters(command=sys.executable, args=["-m", "persona_mcp"], env=env)

        await _time_to_tools_list(persona(warm_dir))  # create the warm folder once
        for index in range(runs):
            baseline = StdioServerParameters(command=sys.executable, args=[str(baseline_file)], env=quiet)
            samples["baseline"].append(await _time_to_tools_list(baseline))
            samples["cold"].append(await _time_to_tools_list(persona(root / f"cold-{index}")))
            samples["warm"].append(await _time_to_tools_list(persona(warm_dir)))
    summary = {name: _summary(values) for name, values in samples.items()}
    base = summary["baseline"]["median_s"]
    for name in ("cold", "warm"):
        summary[name]["ratio_to_baseline"] = summary[name]["median_s"] / base
    return {
        "benchmark": "startup",
        "runs": runs,
        "python": sys.version.split()[0],
        "summary": summary,
        "samples_s": samples,
        "target_s": 2.0,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Spawn to first tools/list reply over stdio, {result['runs']} runs each.",
        "",
        "| case | median | p95 | min | x baseline |",
        "|---|---|---|---|---|",
    ]
    names = {
        "baseline": "bare MCPServer (baseline)",
        "cold": "persona-mcp, new data folder",
        "warm": "persona-mcp, existing data folder",
    }
    for name, stats in result["summary"].items():
        ratio = stats.get("ratio_to_baseline", 1.0)
        lines.append(
            f"| {names[name]} | {stats['median_s'] * 1000:,.0f} ms | {stats['p95_s'] * 1000:,.0f} ms "
            f"| {stats['min_s'] * 1000:,.0f} ms | {ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    cli(__doc__, run, table, "--runs", 10)


if __name__ == "__main__":
    main()
