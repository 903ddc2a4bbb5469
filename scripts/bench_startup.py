"""Cold start: time from spawning `persona-mcp` (stdio) to its first tools/list reply.

Measured three ways in one run, so the numbers mean something on a noisy machine:
  baseline   a bare MCPServer with one echo tool (the SDK's own floor)
  cold       persona-mcp on a new, empty data folder (creates and seeds the database)
  warm       persona-mcp on a data folder that already exists

Usage: python scripts/bench_startup.py [--runs 10] [--json results.json]
Prints a table; writes JSON with every sample, medians, p95 and ratios to baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import BASELINE_SERVER


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
        "p95_s": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
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


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"Cold start to first tools/list reply ({result['runs']} runs each)",
        f"{'case':<10} {'median':>9} {'p95':>9} {'min':>9} {'x baseline':>11}",
    ]
    for name, stats in result["summary"].items():
        ratio = f"{stats['ratio_to_baseline']:.2f}" if "ratio_to_baseline" in stats else "1.00"
        lines.append(
            f"{name:<10} {stats['median_s'] * 1000:>7.0f}ms {stats['p95_s'] * 1000:>7.0f}ms "
            f"{stats['min_s'] * 1000:>7.0f}ms {ratio:>11}"
        )
    verdict = "met" if result["summary"]["cold"]["median_s"] < result["target_s"] else "MISSED"
    lines.append(f"target: cold median under {result['target_s']:.0f} s -> {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()
    result = anyio.run(run, args.runs)
    print(_table(result))
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
