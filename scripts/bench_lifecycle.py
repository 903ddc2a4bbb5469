"""How long decay and pruning take on the corpus persona, through a real MCP client.

With the server's test clock: rounds of "advance 30 days, decay" (every strength changes), each
followed by a decay at the same instant (nothing changes: the idempotent path); then prune
recommendations, dry runs and one real prune (held to a quarter of the memories by max_fraction).
Baseline, in the same run on a copy of the same database: plain sqlite3 reading every memory's
decay columns and writing every strength back in one transaction, the least any decay could cost.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import PERSONA, Corpus, call

ROUNDS = 2
DAYS_PER_ROUND = 30  # two rounds age the memories two months: enough for pruning to find some


def _baseline(database: Path) -> float:
    """Median seconds to read every memory's decay columns and write every strength back, on a copy."""
    with tempfile.TemporaryDirectory(prefix="bench-decay-") as folder:
        copy = Path(folder) / "copy.db"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        times = []
        with sqlite3.connect(copy) as db:
            for _ in range(ROUNDS):
                started = time.perf_counter()
                rows = db.execute(
                    "SELECT id, kind, importance, pinned, strength, anchor_at, anchor_strength, "
                    "emotional_intensity FROM memories WHERE persona_id = ? AND archived_at IS NULL",
                    (PERSONA,),
                ).fetchall()
                db.executemany(
                    "UPDATE memories SET strength = ? WHERE id = ?", [(row[4], row[0]) for row in rows]
                )
                db.commit()
                times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _timed(corpus: Corpus, tool: str, **arguments: Any) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = await call(corpus.client, tool, **arguments)
    return time.perf_counter() - started, result


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


async def measure(corpus: Corpus) -> dict[str, Any]:
    live = (await call(corpus.client, "memory_stats", persona_id=PERSONA))["total"]
    decay, noop, changed = [], [], 0
    for _ in range(ROUNDS):
        await call(corpus.client, "system_clock_advance", days=DAYS_PER_ROUND)
        seconds, result = await _timed(corpus, "memory_decay_force", persona_id=PERSONA)
        decay.append(seconds)
        changed = result["changed"]
        seconds, again = await _timed(corpus, "memory_decay_force", persona_id=PERSONA)
        noop.append(seconds)
        if again["changed"]:
            raise RuntimeError("a second decay at the same instant changed strengths")
    advice_s, _ = await _timed(corpus, "memory_prune_recommendations", persona_id=PERSONA, limit=100)
    dry = []
    for _ in range(ROUNDS):
        seconds, planned = await _timed(corpus, "memory_prune", persona_id=PERSONA, dry_run=True)
        dry.append(seconds)
    prune_s, pruned = await _timed(corpus, "memory_prune", persona_id=PERSONA)
    baseline = _baseline(corpus.data_dir / "persona.db")
    return {
        "memories": live,
        "baseline_rewrite_ms": round(baseline * 1000, 1),
        "decay_ms": _ms(decay),
        "decay_changed": changed,
        "decay_vs_baseline": round(statistics.median(decay) / baseline, 2),
        "decay_noop_ms": _ms(noop),
        "recommendations_ms": round(advice_s * 1000, 1),
        "prune_dry_run_ms": _ms(dry),
        "eligible": planned["eligible"],
        "prune_ms": round(prune_s * 1000, 1),
        "archived": pruned["pruned_count"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| memories | baseline rewrite (sqlite3) | decay, all change | x baseline | decay, no change "
        "| recommendations (100) | prune dry run | prune (archived) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['memories']:,} | {row['baseline_rewrite_ms']:.0f} ms | {row['decay_ms']:.0f} ms "
            f"| {row['decay_vs_baseline']:.2f} | {row['decay_noop_ms']:.0f} ms "
            f"| {row['recommendations_ms']:.0f} ms "
            f"| {row['prune_dry_run_ms']:.0f} ms ({row['eligible']:,} eligible) "
            f"| {row['prune_ms']:.0f} ms ({row['archived']:,}) |"
        )
    return "\n".join(lines)
