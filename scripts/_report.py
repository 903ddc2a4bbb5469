"""Output shared by the scripts: a readable table, and the full report as JSON."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = ["emit", "pairs_table"]


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
