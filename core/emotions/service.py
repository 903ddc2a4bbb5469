"""EmotionService: a persona's feelings now (drifted to the present), changes to them, and their history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from core.access import AccessService, acting
from core.clock import Clock, iso, parse_iso
from core.emotions.repository import EmotionRepository
from core.emotions.state import DIMENSIONS, label, state_from_row
from core.errors import InvalidInput, MissingInput
from core.models import EmotionalState, Persona
from core.store import Store

__all__ = ["RANGES", "EmotionHistory", "EmotionService", "PastState"]

RANGES: dict[str, tuple[float, float]] = {name: (0.0, 1.0) for name in DIMENSIONS} | {"valence": (-1.0, 1.0)}


class PastState(BaseModel):
    """One entry of a persona's emotional history: the state it moved to, and why."""

    valence: float
    arousal: float
    dominance: float
    energy: float
    stress: float
    label: str
    reason: str | None
    created_at: datetime


class EmotionHistory(BaseModel):
    """emotional_history: past states, newest first."""

    persona_id: str
    states: list[PastState]
    total_count: int = Field(description="All recorded states of this persona.")


def _clip(name: str, value: float) -> float:
    low, high = RANGES[name]
    return round(min(high, max(low, value)), 6)


class EmotionService:
    """Reads states with drift applied; every change is stored with a reason in the history."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        mood_half_life_seconds: float,
        energy_half_life_seconds: float,
        access: AccessService,
    ):
        self._repo = EmotionRepository(db)
        self._access = access
        self._clock = clock
        self._half_lives = (mood_half_life_seconds, energy_half_life_seconds)

    async def state(self, persona: Persona, at: datetime | None = None) -> EmotionalState:
        """How the persona feels now: its last state drawn back toward its baseline by the time
        since (its baseline until something has moved it)."""
        row = await self._repo.last(persona.id)
        return state_from_row(row, persona.emotional_baseline, at or self._clock.now(), self._half_lives)

    async def save(self, persona: Persona, values: Mapping[str, float], reason: str) -> EmotionalState:
        """Store a new state (clamped to range) and add it to the history, in one transaction."""
        now = self._clock.now()
        clean = {name: _clip(name, values[name]) for name in DIMENSIONS}
        params = {"persona_id": persona.id, **clean, "reason": reason, "at": iso(now)}
        await self._repo.save(params)
        return state_from_row({**clean, "updated_at": iso(now)}, persona.emotional_baseline)

    async def update(
        self,
        persona: Persona,
        absolute: Mapping[str, float],
        deltas: Mapping[str, float],
        reason: str | None,
    ) -> EmotionalState:
        """Set some dimensions and/or move others by a delta from the present (drifted) state."""
        await self._access.require(persona, "write", "emotional_update_state")
        if not absolute and not deltas:
            raise MissingInput(
                "deltas",
                f"Give at least one of {', '.join(DIMENSIONS)} (absolute values) or `deltas` (changes).",
            )
        both = sorted(set(absolute) & set(deltas))
        if both:
            raise InvalidInput(
                both[0], absolute[both[0]], "Give a dimension either as a value or in `deltas`, not both."
            )
        for name, value in absolute.items():
            low, high = RANGES[name]
            if not low <= value <= high:
                raise InvalidInput(name, value, f"Use a value from {low:g} to {high:g}.")
        current = (await self.state(persona)).model_dump(include=set(DIMENSIONS))
        values = {name: absolute.get(name, current[name] + deltas.get(name, 0.0)) for name in DIMENSIONS}
        changed = ", ".join(
            [*(f"{k}={v:g}" for k, v in absolute.items()), *(f"{k}{v:+g}" for k, v in deltas.items())]
        )
        return await self.save(persona, values, reason or f"set by emotional_update_state ({changed})")

    async def history(self, persona: Persona, limit: int = 20) -> EmotionHistory:
        """The persona's recorded states with their reasons, newest first."""
        rows, total = await self._repo.history(persona.id, limit)
        states = []
        # Why the mood moved in another principal's conversation is not this one's to read.
        everything = await self._access.level(persona) == "own"
        for row in rows:
            values = {name: float(row[name]) for name in DIMENSIONS}
            states.append(
                PastState(
                    **values,
                    label=label(**values),
                    reason=row["reason"] if everything or row["created_by"] == acting().name else None,
                    created_at=parse_iso(row["created_at"]),
                )
            )
        return EmotionHistory(persona_id=persona.id, states=states, total_count=int(total))
