"""What the decay and prune tools return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.memory.decay import DecayMode

__all__ = [
    "ClockStatus",
    "DecayControl",
    "DecayResult",
    "DecayStats",
    "PruneAllResult",
    "PruneCandidate",
    "PruneLimits",
    "PruneResult",
    "PruneStats",
    "Recommendations",
    "RunRecord",
    "StrengthSummary",
]


class RunRecord(BaseModel):
    """One run of decay or pruning."""

    task: Literal["decay", "prune"]
    trigger: str = Field(description="tool, background or size (a persona passed the prune size).")
    persona_id: str | None = Field(description="None: every persona.")
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    examined: int
    changed: int = Field(description="Memories whose strength changed, or that were archived.")
    safety_stops: int
    error: str | None


class StrengthSummary(BaseModel):
    """Strength over a set of memories."""

    count: int
    mean: float | None
    minimum: float | None
    median: float | None
    maximum: float | None


class DecayResult(BaseModel):
    """What memory_decay_force did."""

    persona_id: str | None
    mode: DecayMode
    rate: float = Field(description="Daily rate before the per-kind multipliers.")
    at: datetime = Field(description="The instant strengths were computed for (the server clock).")
    examined: int
    changed: int
    before: StrengthSummary
    after: StrengthSummary
    elapsed_seconds: float


class DecayControl(BaseModel):
    """State of background decay after decay_start or decay_stop."""

    running: bool
    interval_seconds: float
    next_run_at: datetime | None


class DecayStats(DecayControl):
    """memory_decay_stats."""

    mode: DecayMode
    rate: float
    kind_rates: dict[str, float]
    runs: int = Field(description="Completed decay runs (all triggers), kept across restarts.")
    failures: int
    memories_decayed: int = Field(description="Strength changes over all runs.")
    last_run: RunRecord | None
    last_error: str | None


class PruneLimits(BaseModel):
    """The safety limits a prune ran under."""

    importance_below: float = Field(description="Only memories less important than this are archived.")
    strength_below: float = Field(description="... and weaker than this.")
    min_keep: int = Field(description="A persona never goes below this many live memories.")
    max_fraction: float = Field(description="At most this share of a persona's memories per run.")


class PruneCandidate(BaseModel):
    """A memory pruning would archive (or did), and why."""

    memory_id: str
    persona_id: str
    content: str = Field(description="The first 120 characters.")
    kind: str
    importance: float
    strength: float
    access_count: int
    retention: float = Field(description="importance x strength: the lowest go first.")
    reasons: list[str]


class PruneResult(BaseModel):
    """What memory_prune did for one persona."""

    persona_id: str
    dry_run: bool
    examined: int = Field(description="Live memories of the persona before the run.")
    eligible: int = Field(description="Below both thresholds and not pinned.")
    pruned: list[PruneCandidate] = Field(
        description="Archived (or, on a dry run, would be), weakest first; at most `limit` of them."
    )
    pruned_count: int = Field(0, description="How many were archived (or would be), listed or not.")
    kept: int = Field(description="Live memories after the run.")
    limits: PruneLimits
    limited_by: list[Literal["min_keep", "max_fraction"]] = Field(
        description="Safety limits that held back eligible memories."
    )

    def listing(self, limit: int) -> PruneResult:
        """The same result with at most `limit` candidates listed (a prune of 25,000 memories
        listed in full is megabytes, more than clients accept in one message)."""
        return self.model_copy(update={"pruned": self.pruned[:limit]})


class PruneAllResult(BaseModel):
    """What memory_prune_all did."""

    dry_run: bool
    personas: list[PruneResult]
    total_pruned: int
    elapsed_seconds: float


class Recommendations(BaseModel):
    """memory_prune_recommendations: nothing is changed."""

    persona_id: str | None
    candidates: list[PruneCandidate]
    limits: PruneLimits


class PruneStats(BaseModel):
    """memory_prune_stats."""

    runs: int = Field(description="Prune runs that changed data (dry runs are counted apart).")
    dry_runs: int
    memories_archived: int = Field(description="Memories pruning has archived, over all runs.")
    safety_stops: int = Field(description="Times a safety limit held pruning back for a persona.")
    failures: int
    archived_now: int = Field(description="Memories in the archive now (pruned or deleted).")
    last_run: RunRecord | None
    auto_prune_over: int = Field(description="Background pruning starts when a persona has more (0: off).")


class ClockStatus(BaseModel):
    """system_clock_advance."""

    now: datetime
    offset_seconds: float = Field(description="How far the server clock runs ahead of the wall clock.")
