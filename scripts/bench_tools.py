"""What tools/list costs a model: the bytes of each tool's name, description and input schema as
a host puts them in front of its model (compact JSON), per tool and per profile, beside the same
tools written as the SDK would publish them from our functions (pydantic's schemas, uncompacted),
against the budgets: the chat profile (the default) <= 24 KB, all tools <= 48 KB.

Tokens are approximate (bytes / 4, the usual rate for JSON with English text).

Usage: python scripts/bench_tools.py [--json results.json]
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.tools import Tool as SdkTool

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import emit

from core.config import Settings
from persona_mcp import build_server
from persona_mcp.server import TOOL_MODULES

BUDGETS = {"chat": 24 * 1024, "all": 48 * 1024}
BYTES_PER_TOKEN = 4


def visible_bytes(name: str, description: str, schema: dict[str, Any]) -> int:
    """A tool as a model reads it: name, description and input schema, compact JSON."""
    shown = {"name": name, "description": description, "inputSchema": schema}
    return len(json.dumps(shown, separators=(",", ":"), ensure_ascii=False).encode())


async def run(_: int = 0) -> dict[str, Any]:
    """Every tool's published size and its unabridged size, and each profile's totals."""
    unabridged = {
        f"{module.NAMESPACE}_{tool.name}": SdkTool.from_function(tool.fn)
        for module in TOOL_MODULES
        for tool in module.TOOLS
    }
    tools: dict[str, dict[str, Any]] = {}
    profiles: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for profile in BUDGETS:
            settings = Settings(data_dir=Path(folder), toolsets=(profile,))
            listed = await build_server(settings).list_tools()
            for tool in listed:
                full = unabridged[tool.name]
                tools[tool.name] = {
                    "bytes": visible_bytes(tool.name, tool.description or "", tool.input_schema),
                    "unabridged_bytes": visible_bytes(
                        tool.name, inspect.cleandoc(full.description), full.parameters
                    ),
                }
            published = sum(tools[tool.name]["bytes"] for tool in listed)
            before = sum(tools[tool.name]["unabridged_bytes"] for tool in listed)
            profiles[profile] = {
                "tools": len(listed),
                "names": sorted(tool.name for tool in listed),
                "bytes": published,
                "tokens": published // BYTES_PER_TOKEN,
                "unabridged_bytes": before,
                "ratio_to_unabridged": round(published / before, 3),
                "budget_bytes": BUDGETS[profile],
                "met": published <= BUDGETS[profile],
            }
    for row in tools.values():
        row["tokens"] = row["bytes"] // BYTES_PER_TOKEN
    return {"benchmark": "tools", "profiles": profiles, "tools": tools}


def table(report: dict[str, Any]) -> str:
    """Profiles first, then every tool, largest first, marked when the chat profile has it."""
    chat = set(report["profiles"]["chat"]["names"])
    lines = [
        "| profile | tools | bytes | ~tokens | unabridged | ratio | budget | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["profiles"].items():
        verdict = "met" if row["met"] else "MISSED"
        lines.append(
            f"| {name} | {row['tools']} | {row['bytes']:,} | {row['tokens']:,} | {row['unabridged_bytes']:,} "
            f"| {row['ratio_to_unabridged']:.2f} | {row['budget_bytes']:,} | {verdict} |"
        )
    lines += ["", "| tool | bytes | ~tokens | unabridged | in chat |", "|---|---|---|---|---|"]
    for name, row in sorted(report["tools"].items(), key=lambda item: -item[1]["bytes"]):
        lines.append(
            f"| {name} | {row['bytes']:,} | {row['tokens']:,} | {row['unabridged_bytes']:,} "
            f"| {'yes' if name in chat else ''} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    import anyio

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="write the JSON report to this file ('-' for stdout)")
    arguments = parser.parse_args()
    found = anyio.run(run)
    emit(found, table(found), arguments.json)
