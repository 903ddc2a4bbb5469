"""How long decay and pruning take on one persona's memories, through a real MCP client.

Stores N memories (importance scored from the text, as in real use), then with the test clock:
five rounds of "advance 12 days, decay" (every strength changes) each followed by a decay at the
same instant (nothing changes: the idempotent path), then prune recommendations, dry runs and one
real prune. The baseline, run in the same process on the same database afterwards, is the least
any decay could cost: plain sqlite3 reading the decay columns of every memory and writing every
strength back in one transaction.

    python scripts/bench_lifecycle.py --memories 10000 --json out.json
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client

from core.config import load_settings
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).parent))
from _report import main_with_memories, pairs_table
from bench_memory import call, sentences

PERSONA = "bench"
_BATCH = 500
_ROUNDS = 5


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


async def _timed(client: Client, tool: str, **arguments: Any) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = await call(client, tool, **arguments)
    return time.perf_counter() - started, result


def _baseline(database: Path) -> float:
    """Seconds to read every memory's decay columns and write every strength back (sqlite3)."""
    with sqlite3.connect(database) as db:
        started = time.perf_counter()
        rows = db.execute(
            "SELECT id, kind, importance, pinned, strength, anchor_at, anchor_strength, emotional_intensity "
            "FROM memories WHERE persona_id = ? AND archived_at IS NULL",
            (PERSONA,),
        ).fetchall()
        db.executemany("UPDATE memories SET strength = ? WHERE id = ?", [(row[4], row[0]) for row in rows])
        db.commit()
        return time.perf_counter() - started


async def run(memories: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as folder:
        settings = load_settings(
            {}, data_dir=Path(folder), seed_personas=False, test_clock=True, decay_enabled=False
        )
        async with Client(build_server(settings)) as client:
            await call(client, "persona.create", id=PERSONA, name="Bench")
            texts = sentences(memories, seed=7)
            for start in range(0, len(texts), _BATCH):
                items = [{"content": text, "persona_id": PERSONA} for text in texts[start : start + _BATCH]]
                await call(client, "memory.store_batch", items=items)
            stored = (await call(client, "memory.stats", persona_id=PERSONA))["total"]
            print(f"  stored {stored}", file=sys.stderr, flush=True)
            decay, decay_server, noop, noop_server = [], [], [], []
            for _ in range(_ROUNDS):
                await call(client, "system.clock_advance", days=12)
                seconds, result = await _timed(client, "memory.decay_force", persona_id=PERSONA)
                decay.append(seconds)
                decay_server.append(result["elapsed_seconds"])
                changed = result["changed"]
                seconds, result = await _timed(client, "memory.decay_force", persona_id=PERSONA)
                noop.append(seconds)
                noop_server.append(result["elapsed_seconds"])
                assert result["changed"] == 0, "a second decay at the same instant changed something"
            strength = result["after"]
            advice_s, advice = await _timed(
                client, "memory.prune_recommendations", persona_id=PERSONA, limit=100
            )
            dry = []
            for _ in range(_ROUNDS):
                seconds, planned = await _timed(client, "memory.prune", persona_id=PERSONA, dry_run=True)
                dry.append(seconds)
            prune_s, pruned = await _timed(client, "memory.prune", persona_id=PERSONA)
        baseline = [_baseline(settings.database_path) for _ in range(_ROUNDS)]
    return {
        "memories": stored,
        "baseline_rewrite_ms": _median_ms(baseline),
        "decay_ms": _median_ms(decay),
        "decay_server_ms": _median_ms(decay_server),
        "decay_changed": changed,
        "decay_noop_ms": _median_ms(noop),
        "decay_noop_server_ms": _median_ms(noop_server),
        "decay_vs_baseline": round(statistics.median(decay_server) / statistics.median(baseline), 2),
        "strength_after_60_days": strength,
        "recommendations_ms": round(advice_s * 1000, 2),
        "recommended": len(advice["candidates"]),
        "prune_dry_run_ms": _median_ms(dry),
        "prune_ms": round(prune_s * 1000, 2),
        "eligible": planned["eligible"],
        "archived": len(pruned["pruned"]),
        "limited_by": pruned["limited_by"],
    }


def table(report: dict[str, Any]) -> str:
    rows = [
        ("memories", f"{report['memories']}"),
        ("baseline: rewrite every strength (sqlite3)", f"{report['baseline_rewrite_ms']} ms"),
        (
            f"decay, every strength changes ({report['decay_changed']})",
            f"{report['decay_ms']} ms (server {report['decay_server_ms']} ms, "
            f"{report['decay_vs_baseline']}x baseline)",
        ),
        ("decay again at the same instant (no change)", f"{report['decay_noop_ms']} ms"),
        ("prune recommendations (100)", f"{report['recommendations_ms']} ms"),
        (f"prune dry run ({report['eligible']} eligible)", f"{report['prune_dry_run_ms']} ms"),
        (
            f"prune, archiving {report['archived']} ({', '.join(report['limited_by']) or 'no limit'})",
            f"{report['prune_ms']} ms",
        ),
    ]
    return pairs_table(rows)


def main() -> None:
    main_with_memories(__doc__, run, table)


if __name__ == "__main__":
    main()
