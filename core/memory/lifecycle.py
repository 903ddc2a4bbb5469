"""Memories over time: decay runs, safe pruning into the archive, and the record of both.

Every decay or prune run is written to `maintenance_runs` (including failures), which is what
decay_stats and prune_stats report. Pruning a persona is one transaction: a kill part-way leaves
the old state or the new one, never half of it. Decay is idempotent (see core.memory.decay), so
it commits persona by persona.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from core.access import require_admin
from core.clock import Clock, iso, parse_iso
from core.config import Settings
from core.errors import InvalidInput
from core.memory.decay import DecayMode, DecayPolicy, strength_at
from core.memory.lifecycle_models import (
    DecayResult,
    PruneAllResult,
    PruneCandidate,
    PruneLimits,
    PruneResult,
    PruneStats,
    Recommendations,
    RunRecord,
    StrengthSummary,
)
from core.memory.lifecycle_repository import LifecycleRepository
from core.memory.run_repository import RunLog, Task
from core.memory.semantic import Progress, SemanticLayer
from core.personas import PersonaService
from core.store import Store
from core.store.port import Row

__all__ = ["Lifecycle"]

logger = logging.getLogger(__name__)

_PREVIEW_CHARS = 120
_SECONDS_PER_DAY = 86_400.0
# Smaller strength changes are not written: the clock moves on between two runs "at once", and
# a millionth is below anything a user would notice (exponential decay at 0.05/day moves a
# strength by 1e-6 in about two seconds).
_CHANGE = 1e-6


def _summary(values: Sequence[float]) -> StrengthSummary:
    if not values:
        return StrengthSummary(count=0, mean=None, minimum=None, median=None, maximum=None)
    return StrengthSummary(
        count=len(values),
        mean=round(statistics.fmean(values), 6),
        minimum=round(min(values), 6),
        median=round(statistics.median(values), 6),
        maximum=round(max(values), 6),
    )


class Lifecycle:
    """decay_force, prune, prune_all, prune_recommendations, prune_stats, and the runs the
    background maintenance makes of them."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        settings: Settings,
        personas: PersonaService,
        semantic: SemanticLayer,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._personas = personas
        self._semantic = semantic
        self.runs = RunLog(db)
        self.policy = DecayPolicy.from_settings(settings)

    @property
    def limits(self) -> PruneLimits:
        s = self._settings
        return PruneLimits(
            importance_below=s.prune_importance_below,
            strength_below=s.prune_strength_below,
            min_keep=s.prune_min_keep,
            max_fraction=s.prune_max_fraction,
        )

    async def persona_ids(self) -> list[str]:
        """Every persona's id (archived ones too)."""
        return await self._persona_ids(None)

    async def _persona_ids(self, persona_id: str | None) -> list[str]:
        """The persona named, or every persona (archived ones too: their memories still live)."""
        if persona_id is not None:
            return [(await self._personas.get(persona_id)).id]
        return [p.id for p in await self._personas.list_personas(include_archived=True)]

    async def _finish(
        self,
        task: Task,
        trigger: str,
        persona_id: str | None,
        dry_run: bool,
        started: datetime,
        *,
        examined: int = 0,
        changed: int = 0,
        safety_stops: int = 0,
        failure: Exception | None = None,
    ) -> None:
        """Record a run in the run log (a failed one with its error, logged too)."""
        error = None if failure is None else f"{type(failure).__name__}: {failure}"
        if error is not None:
            logger.error("%s run failed (%s): %s", task, trigger, error)
        await self.runs.record(
            RunRecord(
                task=task,
                trigger=trigger,
                persona_id=persona_id,
                dry_run=dry_run,
                started_at=started,
                finished_at=self._clock.now(),
                examined=examined,
                changed=changed,
                safety_stops=safety_stops,
                error=error,
            )
        )

    # ---- decay ----

    async def decay(
        self,
        persona_id: str | None = None,
        mode: DecayMode | None = None,
        rate: float | None = None,
        trigger: str = "tool",
        progress: Progress | None = None,
    ) -> DecayResult:
        """Bring every live memory's strength up to the server clock's present. With `mode` or
        `rate`, decay by those instead of the settings, once: the result becomes each memory's
        new anchor, so later runs continue from it."""
        require_admin("decaying memories")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise InvalidInput("rate", rate, "Give a daily rate between 0 and 1, e.g. 0.05.")
        ids = await self._persona_ids(persona_id)
        override = mode is not None or rate is not None
        policy = replace(
            self.policy, mode=mode or self.policy.mode, rate=self.policy.rate if rate is None else rate
        )
        started, clock_started = time.perf_counter(), self._clock.now()
        at = clock_started
        before: list[float] = []
        after: list[float] = []
        changed = 0
        try:
            for done, pid in enumerate(ids):
                old, new, count = await self._decay_persona(pid, policy, at, override)
                before += old
                after += new
                changed += count
                if progress is not None:
                    await progress(
                        done + 1, len(ids), f"decayed {pid}: {count} of {len(old)} memories changed"
                    )
        except Exception as exc:
            await self._finish("decay", trigger, persona_id, False, clock_started, failure=exc)
            raise
        await self._finish(
            "decay", trigger, persona_id, False, clock_started, examined=len(before), changed=changed
        )
        return DecayResult(
            persona_id=persona_id,
            mode=policy.mode,
            rate=policy.rate,
            at=at,
            examined=len(before),
            changed=changed,
            before=_summary(before),
            after=_summary(after),
            elapsed_seconds=round(time.perf_counter() - started, 4),
        )

    async def _decay_persona(
        self, persona_id: str, policy: DecayPolicy, at: datetime, reanchor: bool
    ) -> tuple[list[float], list[float], int]:
        stamp = iso(at)
        async with self._db.transaction() as tx:
            rows = await LifecycleRepository.decay_rows(tx, persona_id)
            before, after, updates = [], [], []
            for row in rows:
                value = strength_at(policy, row, at)
                old = row["strength"]
                write = abs(value - old) > _CHANGE
                before.append(old)
                after.append(value if write or reanchor else old)
                if write or reanchor:
                    updates.append((value, stamp, row["id"]))
            await LifecycleRepository.write_strengths(tx, updates, reanchor)
        changed = sum(1 for old, new in zip(before, after, strict=True) if abs(new - old) > _CHANGE)
        return before, after, changed

    # ---- pruning ----

    async def prune(
        self, persona_id: str, dry_run: bool = False, max_fraction: float | None = None, trigger: str = "tool"
    ) -> PruneResult:
        """Archive the persona's weakest unimportant memories, within the safety limits."""
        require_admin("pruning")
        persona = await self._personas.get(persona_id)
        limits = self.limits
        if max_fraction is not None:
            if not 0.0 < max_fraction <= 1.0:
                raise InvalidInput(
                    "max_fraction", max_fraction, "Give a share above 0 and at most 1, e.g. 0.25."
                )
            limits = limits.model_copy(update={"max_fraction": max_fraction})
        started = self._clock.now()
        try:
            result = await self._prune_persona(persona.id, limits, dry_run, started)
        except Exception as exc:
            await self._finish("prune", trigger, persona.id, dry_run, started, failure=exc)
            raise
        await self._finish(
            "prune",
            trigger,
            persona.id,
            dry_run,
            started,
            examined=result.examined,
            changed=len(result.pruned),
            safety_stops=1 if result.limited_by else 0,
        )
        if not dry_run and result.pruned:
            await self._semantic.forget(persona.id, [c.memory_id for c in result.pruned])
        return result

    async def _prune_persona(
        self, persona_id: str, limits: PruneLimits, dry_run: bool, now: datetime
    ) -> PruneResult:
        async with self._db.transaction() as tx:
            live = await LifecycleRepository.live_count(tx, persona_id)
            eligible = await LifecycleRepository.prunable(
                tx, persona_id, limits.importance_below, limits.strength_below
            )
            by_fraction = math.floor(live * limits.max_fraction)
            by_minimum = max(0, live - limits.min_keep)
            cap = min(by_fraction, by_minimum)
            # The limits that decided how many go (when eligible memories were held back).
            limits_and_caps: tuple[tuple[Literal["min_keep", "max_fraction"], int], ...] = (
                ("min_keep", by_minimum),
                ("max_fraction", by_fraction),
            )
            limited_by = [name for name, value in limits_and_caps if value == cap and len(eligible) > cap]
            chosen = eligible[:cap]
            candidates = [_candidate(row, limits, now) for row in chosen]
            if not dry_run and chosen:
                await LifecycleRepository.archive(tx, [row["id"] for row in chosen], iso(now))
        return PruneResult(
            persona_id=persona_id,
            dry_run=dry_run,
            examined=live,
            eligible=len(eligible),
            pruned=candidates,
            pruned_count=len(candidates),
            kept=live - (0 if dry_run else len(chosen)),
            limits=limits,
            limited_by=limited_by,
        )

    async def prune_all(
        self, dry_run: bool = False, trigger: str = "tool", progress: Progress | None = None
    ) -> PruneAllResult:
        require_admin("pruning")
        started = time.perf_counter()
        ids = await self._persona_ids(None)
        results = []
        for done, pid in enumerate(ids):
            result = await self.prune(pid, dry_run=dry_run, trigger=trigger)
            results.append(result)
            if progress is not None:
                verb = "would archive" if dry_run else "archived"
                await progress(done + 1, len(ids), f"{pid}: {verb} {len(result.pruned)} of {result.examined}")
        return PruneAllResult(
            dry_run=dry_run,
            personas=results,
            total_pruned=sum(r.pruned_count for r in results),
            elapsed_seconds=round(time.perf_counter() - started, 4),
        )

    async def recommendations(self, persona_id: str | None, limit: int) -> Recommendations:
        """What pruning would archive now (within the safety limits), weakest first; changes nothing."""
        require_admin("prune recommendations")
        limits = self.limits
        now = self._clock.now()
        candidates: list[PruneCandidate] = []
        for pid in await self._persona_ids(persona_id):
            result = await self._prune_persona(pid, limits, True, now)
            candidates += result.pruned
        candidates.sort(key=lambda c: (c.retention, c.access_count, c.memory_id))
        return Recommendations(persona_id=persona_id, candidates=candidates[:limit], limits=limits)

    async def oversized(self) -> list[str]:
        """Personas with more live memories than the background prune size."""
        if self._settings.prune_over <= 0:
            return []
        return await LifecycleRepository(self._db).personas_over(self._settings.prune_over)

    async def prune_stats(self) -> PruneStats:
        require_admin("prune statistics")
        totals = await self.runs.totals("prune")
        archived = await LifecycleRepository(self._db).archived_total()
        return PruneStats(
            runs=totals.runs,
            dry_runs=totals.dry_runs,
            memories_archived=totals.changed,
            safety_stops=totals.safety_stops,
            failures=totals.failures,
            archived_now=int(archived or 0),
            last_run=totals.last_run,
            auto_prune_over=self._settings.prune_over,
        )


def _candidate(row: Row, limits: PruneLimits, now: datetime) -> PruneCandidate:
    age_days = (now - parse_iso(row["created_at"])).total_seconds() / _SECONDS_PER_DAY
    reasons = [
        f"importance {row['importance']:.2f} is below {limits.importance_below:g}",
        f"strength {row['strength']:.2f} is below {limits.strength_below:g}",
        "never recalled" if row["access_count"] == 0 else f"recalled {row['access_count']} times",
        f"{age_days:.0f} days old",
    ]
    content = row["content"]
    return PruneCandidate(
        memory_id=row["id"],
        persona_id=row["persona_id"],
        content=content if len(content) <= _PREVIEW_CHARS else content[: _PREVIEW_CHARS - 1] + "…",
        kind=row["kind"],
        importance=row["importance"],
        strength=row["strength"],
        access_count=row["access_count"],
        retention=round(row["importance"] * row["strength"], 6),
        reasons=reasons,
    )
