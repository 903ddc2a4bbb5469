"""The record of decay and prune runs (the maintenance_runs table), for decay_stats and prune_stats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.clock import iso, parse_iso
from core.memory.lifecycle_models import RunRecord
from core.store import Store
from core.store.port import Row

__all__ = ["RunLog", "RunTotals", "Task"]

Task = Literal["decay", "prune"]


@dataclass(frozen=True)
class RunTotals:
    """What maintenance_runs says about one task."""

    runs: int
    dry_runs: int
    failures: int
    changed: int
    safety_stops: int
    last_run: RunRecord | None
    last_error: str | None


class RunLog:
    """The maintenance_runs table."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def record(self, run: RunRecord) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO maintenance_runs (task, trigger, persona_id, dry_run, started_at, finished_at, "
                "examined, changed, safety_stops, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.task,
                    run.trigger,
                    run.persona_id,
                    int(run.dry_run),
                    iso(run.started_at),
                    iso(run.finished_at),
                    run.examined,
                    run.changed,
                    run.safety_stops,
                    run.error,
                ),
            )

    async def totals(self, task: Task) -> RunTotals:
        row = await self._db.fetch_one(
            "SELECT count(*) FILTER (WHERE error IS NULL AND dry_run = 0) AS runs, "
            "count(*) FILTER (WHERE error IS NULL AND dry_run = 1) AS dry_runs, "
            "count(*) FILTER (WHERE error IS NOT NULL) AS failures, "
            "coalesce(sum(changed) FILTER (WHERE error IS NULL AND dry_run = 0), 0) AS changed, "
            "coalesce(sum(safety_stops) FILTER (WHERE error IS NULL AND dry_run = 0), 0) AS stops "
            "FROM maintenance_runs WHERE task = ?",
            (task,),
        )
        last = await self._db.fetch_one(
            "SELECT * FROM maintenance_runs WHERE task = ? ORDER BY id DESC LIMIT 1", (task,)
        )
        error = await self._db.scalar(
            "SELECT error FROM maintenance_runs WHERE task = ? AND error IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (task,),
        )
        assert row is not None
        return RunTotals(
            runs=row["runs"],
            dry_runs=row["dry_runs"],
            failures=row["failures"],
            changed=row["changed"],
            safety_stops=row["stops"],
            last_run=None if last is None else _record(last),
            last_error=error,
        )


def _record(row: Row) -> RunRecord:
    return RunRecord(
        task=row["task"],
        trigger=row["trigger"],
        persona_id=row["persona_id"],
        dry_run=bool(row["dry_run"]),
        started_at=parse_iso(row["started_at"]),
        finished_at=parse_iso(row["finished_at"]),
        examined=row["examined"],
        changed=row["changed"],
        safety_stops=row["safety_stops"],
        error=row["error"],
    )
