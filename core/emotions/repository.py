"""SQL for emotional_states (one row per persona: its last state) and emotional_history."""

from __future__ import annotations

from typing import Any

from core.access import acting
from core.store import Store
from core.store.port import Row

__all__ = ["EmotionRepository"]


class EmotionRepository:
    """A persona's last emotional state and its history."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def last(self, persona_id: str) -> dict[str, Any] | None:
        row = await self._db.fetch_one("SELECT * FROM emotional_states WHERE persona_id = ?", (persona_id,))
        return dict(row) if row else None

    async def save(self, values: dict[str, Any]) -> None:
        """The new state (persona_id, the five dimensions, reason, at) and its history row, by the
        acting principal, in one transaction."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO emotional_states (persona_id, valence, arousal, dominance, energy, stress, "
                "updated_at) VALUES (:persona_id, :valence, :arousal, :dominance, :energy, :stress, :at) "
                "ON CONFLICT (persona_id) DO UPDATE SET valence = :valence, arousal = :arousal, "
                "dominance = :dominance, energy = :energy, stress = :stress, updated_at = :at",
                values,
            )
            await tx.execute(
                "INSERT INTO emotional_history (persona_id, valence, arousal, dominance, energy, stress, "
                "reason, created_at, created_by) VALUES (:persona_id, :valence, :arousal, :dominance, "
                ":energy, :stress, :reason, :at, :by)",
                {**values, "by": acting().name},
            )

    async def history(self, persona_id: str, limit: int) -> tuple[list[Row], int]:
        """The newest history rows and how many there are."""
        rows = await self._db.fetch_all(
            "SELECT * FROM emotional_history WHERE persona_id = ? ORDER BY id DESC LIMIT ?",
            (persona_id, limit),
        )
        total = await self._db.scalar(
            "SELECT count(*) FROM emotional_history WHERE persona_id = ?", (persona_id,)
        )
        return rows, int(total)
