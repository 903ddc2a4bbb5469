"""Output shared by the scripts: a readable table, and the full report as JSON."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson

__all__ = ["emit", "main", "nearest_rank", "pairs_table", "percentiles"]


def emit(report: dict[str, Any], table: str, json_target: str | None) -> None:
    """Print the table (to stderr when the JSON goes to stdout), and write the JSON to
    `json_target`: a file path, '-' for stdout, or None for no JSON."""
    print(table, file=sys.stderr if json_target == "-" else sys.stdout)
    data = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    if json_target == "-":
        print(data.decode())
    elif json_target:
        Path(json_target).write_bytes(data)


def pairs_table(rows: Sequence[tuple[str, str]]) -> str:
    """Two aligned columns: what was measured, and the numbers."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0-1) of sorted values, by nearest rank."""
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in ms, rounded for reading, and how many values."""
    ordered = sorted(values_ms)
    return {
        "p50": round(statistics.median(ordered), 2),
        **{f"p{round(q * 100)}": round(nearest_rank(ordered, q), 2) for q in (0.95, 0.99)},
        "n": len(ordered),
    }


def main(
    doc: str | None,
    run: Callable[[int], Awaitable[dict[str, Any]]],
    table: Callable[[dict[str, Any]], str],
    option: str,
    default: int,
) -> None:
    """The command line of a one-number benchmark: `option` (how many runs or calls) and --json."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(option, type=int, default=default)
    parser.add_argument("--json", help="write the JSON report to this file ('-' for stdout)")
    args = parser.parse_args()
    report = anyio.run(run, getattr(args, option.lstrip("-")))
    emit(report, table(report), args.json)
