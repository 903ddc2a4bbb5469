"""Reflection on one LoCoMo conversation: every turn stored as an episode (the `sessions` protocol
of eval_locomo.py: subject = speaker, created_at = the session's date), then memory_reflect over
all of them through an MCP client. Prints how many facts came out, how many episodes they rest on,
and a sample with their sources (as LoCoMo turn ids).

With Ollama running, the belief model does the reflecting (PERSONA_MCP_BELIEF_MODEL, default: the
chat model); `--belief-model off` keeps to the extractive method.

Usage: python scripts/reflect_locomo.py [--conversation conv-26] [--sample 8] [--belief-model off]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import emit
from eval_locomo import call, find_data, load, persona_of

from core.config import load_settings
from persona_mcp import build_server


async def run(conversation: str, sample_size: int, belief_model: str | None) -> dict[str, Any]:
    samples = [s for s in json.loads(find_data(None).read_text()) if s["sample_id"] == conversation]
    if not samples:
        raise SystemExit(f"no conversation {conversation!r} in the data file")
    with tempfile.TemporaryDirectory(prefix="reflect-locomo-") as folder:
        settings = load_settings(
            None, data_dir=Path(folder), toolsets=("all",), decay_enabled=False, belief_model=belief_model
        )
        async with Client(build_server(settings), mode="legacy") as client:
            ids, _ = await load(client, samples, "sessions")
            dia_of = {memory_id: dia for dia, memory_id in ids[persona_of(samples[0])].items()}
            result = await call(
                client, "memory_reflect", persona_id=persona_of(samples[0]), since="2000-01-01T00:00:00Z"
            )
    facts = result["facts"]
    sources = [len(fact["sources"]) for fact in facts]
    return {
        "conversation": conversation,
        "method": result["method"],
        "episodes": result["episodes_read"],
        "facts_created": result["facts_created"],
        "facts_known": result["facts_known"],
        "episodes_per_fact_median": sorted(sources)[len(sources) // 2] if sources else 0,
        "with_conflicts": sum(1 for fact in facts if fact["possible_conflicts"]),
        "persona_changes": (result["persona_changes"] or {}).get("summary", []),
        "sample": [
            {
                "subject": fact["subject"],
                "content": fact["content"],
                "sources": sorted(dia_of.get(s, s) for s in fact["sources"])[:6],
                "source_count": len(fact["sources"]),
            }
            for fact in facts[:sample_size]
        ],
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['conversation']}: {report['episodes']} episodes -> {report['facts_created']} facts "
        f"({report['facts_known']} already known; median {report['episodes_per_fact_median']} episodes "
        f"per fact; {report['with_conflicts']} with a possible conflict; method {report['method']})",
        "",
        "| subject | fact | sources |",
        "|---|---|---|",
    ]
    for fact in report["sample"]:
        more = (
            f" (+{fact['source_count'] - len(fact['sources'])})"
            if fact["source_count"] > len(fact["sources"])
            else ""
        )
        lines.append(f"| {fact['subject']} | {fact['content']} | {', '.join(fact['sources'])}{more} |")
    if report["persona_changes"]:
        lines += ["", "Proposed persona changes:", *(f"- {line}" for line in report["persona_changes"])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversation", default="conv-26")
    parser.add_argument("--sample", type=int, default=8)
    parser.add_argument("--belief-model", help="auto, off, or an Ollama model (default: the setting).")
    parser.add_argument("--json")
    args = parser.parse_args()
    report = anyio.run(run, args.conversation, args.sample, args.belief_model)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
