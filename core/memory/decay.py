"""Decay: how a memory's strength fades with time, in closed form.

A memory's strength is a function of its anchor (the strength it had when it was last stored,
accessed or force-decayed, and when that was) and of the time since then. Nothing accumulates
from run to run, so decaying twice at the same instant changes nothing, and a server that was off
for a week computes exactly what it would have computed had it been running.

With elapsed days `d`, anchor strength `s0` and an effective daily rate `r`:

    exponential   s0 * exp(-r d)             fades by the same fraction every day
    linear        s0 - r d                   fades by the same amount every day
    logarithmic   s0 - r ln(1 + d)           fades fast at first, then slowly
    step          s0 * (1 - r) ** floor(d)   drops once per whole day

The effective rate is the base rate times the kind's multiplier (episodic memories fade faster
than semantic or procedural ones), slowed by the memory's emotional intensity: a vivid memory
(intensity 1) fades at half the rate of a flat one. Pinned memories and those at or above an
importance threshold never fall below a floor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from core.clock import parse_iso
from core.config import Settings

__all__ = ["DECAY_COLUMNS", "MODES", "DecayMode", "DecayPolicy", "decayed", "reinforced", "strength_at"]

DecayMode = Literal["exponential", "linear", "logarithmic", "step"]
MODES: tuple[DecayMode, ...] = ("exponential", "linear", "logarithmic", "step")
_SECONDS_PER_DAY = 86_400.0
# How much full emotional intensity slows decay: a vivid memory fades at half the rate.
VIVIDNESS = 0.5
# Reinforcement on access: half the lost strength comes back, plus a little.
_REGAIN, _BONUS = 0.5, 0.1


@dataclass(frozen=True)
class DecayPolicy:
    """The decay settings in force for one run."""

    mode: DecayMode
    rate: float  # per day, before the kind multiplier
    kind_rates: Mapping[str, float]
    floor: float
    floor_importance: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DecayPolicy:
        return cls(
            mode=settings.decay_mode,
            rate=settings.decay_rate,
            kind_rates=settings.decay_kind_rates.model_dump(),
            floor=settings.decay_floor,
            floor_importance=settings.decay_floor_importance,
        )

    def rate_for(self, kind: str, intensity: float) -> float:
        """The effective daily rate of a memory of this kind and emotional intensity."""
        return self.rate * self.kind_rates.get(kind, 1.0) * (1.0 - VIVIDNESS * intensity)

    def floor_for(self, pinned: bool, importance: float) -> float:
        """The lowest strength this memory may decay to."""
        return self.floor if pinned or importance >= self.floor_importance else 0.0


def _curve(mode: DecayMode, start: float, rate: float, days: float) -> float:
    if mode == "exponential":
        return start * math.exp(-rate * days)
    if mode == "linear":
        return start - rate * days
    if mode == "logarithmic":
        return start - rate * math.log1p(days)
    return start * (1.0 - min(rate, 1.0)) ** math.floor(days)


def decayed(
    policy: DecayPolicy,
    *,
    anchor_strength: float,
    elapsed_seconds: float,
    kind: str,
    intensity: float,
    pinned: bool,
    importance: float,
) -> float:
    """The strength of a memory `elapsed_seconds` after its anchor."""
    days = max(0.0, elapsed_seconds) / _SECONDS_PER_DAY
    value = _curve(policy.mode, anchor_strength, policy.rate_for(kind, intensity), days)
    return min(1.0, max(policy.floor_for(pinned, importance), value, 0.0))


class Columns(Protocol):
    """A row read by name (sqlite3.Row, a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


# The memories columns strength_at reads.
DECAY_COLUMNS = (
    "kind, importance, pinned, strength, anchor_at, anchor_strength, emotional_intensity, updated_at"
)


def strength_at(policy: DecayPolicy, row: Columns, at: datetime) -> float:
    """The strength at `at` of the memory in `row` (a memories row with DECAY_COLUMNS)."""
    anchor = parse_iso(row["anchor_at"] or row["updated_at"])
    return decayed(
        policy,
        anchor_strength=row["anchor_strength"],
        elapsed_seconds=(at - anchor).total_seconds(),
        kind=row["kind"],
        intensity=row["emotional_intensity"],
        pinned=bool(row["pinned"]),
        importance=row["importance"],
    )


def reinforced(strength: float) -> float:
    """The strength after an access: half of what was lost comes back, plus 0.1 (at most 1)."""
    return min(1.0, strength + _REGAIN * (1.0 - strength) + _BONUS)
