"""SQL for decay and pruning: the rows they read and the strengths and archive marks they write.
The transactional ones run inside the caller's write transaction, so a decay or prune pass reads
and writes one consistent set of rows."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from core.memory.decay import DECAY_COLUMNS
from core.store import Store
from core.store.port import Row

__all__ = ["LifecycleRepository"]


class LifecycleRepository:
    """Reads and writes of decay and pruning."""

    def __init__(self, db: Store) -> None:
        self._db = db

    @staticmethod
    async def decay_rows(tx: aiosqlite.Connection, persona_id: str) -> list[Row]:
        """The persona's live memories with what their strength is computed from."""
        async with tx.execute(
            f"SELECT id, {DECAY_COLUMNS} FROM memories WHERE persona_id = ? AND archived_at IS NULL",
            (persona_id,),
        ) as cursor:
            return list(await cursor.fetchall())

    @staticmethod
    async def write_strengths(
        tx: aiosqlite.Connection, updates: Sequence[tuple[float, str, str]], reanchor: bool
    ) -> None:
        """(strength, at, id) for each memory; with `reanchor`, decay starts again from there."""
        if reanchor:
            await tx.executemany(
                "UPDATE memories SET strength = ?1, anchor_strength = ?1, anchor_at = ?2, decayed_at = ?2 "
                "WHERE id = ?3",
                updates,
            )
        else:
            await tx.executemany("UPDATE memories SET strength = ?, decayed_at = ? WHERE id = ?", updates)

    @staticmethod
    async def live_count(tx: aiosqlite.Connection, persona_id: str) -> int:
        async with tx.execute(
            "SELECT count(*) FROM memories WHERE persona_id = ? AND archived_at IS NULL", (persona_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    async def prunable(
        tx: aiosqlite.Connection, persona_id: str, importance_below: float, strength_below: float
    ) -> list[Row]:
        """Prunable memories, the ones to go first first: least importance x strength, least
        recalled, oldest."""
        async with tx.execute(
            "SELECT id, persona_id, content, kind, importance, strength, access_count, created_at "
            "FROM memories WHERE persona_id = ? AND archived_at IS NULL AND pinned = 0 "
            "AND importance < ? AND strength < ? "
            "ORDER BY importance * strength, access_count, created_at, id",
            (persona_id, importance_below, strength_below),
        ) as cursor:
            return list(await cursor.fetchall())

    @staticmethod
    async def archive(tx: aiosqlite.Connection, ids: Sequence[str], at: str) -> None:
        await tx.executemany(
            "UPDATE memories SET archived_at = ?, indexed_at = NULL WHERE id = ? AND archived_at IS NULL",
            [(at, memory_id) for memory_id in ids],
        )

    async def personas_over(self, size: int) -> list[str]:
        """Personas with more live memories than `size`."""
        rows = await self._db.fetch_all(
            "SELECT persona_id FROM memories WHERE archived_at IS NULL "
            "GROUP BY persona_id HAVING count(*) > ?",
            (size,),
        )
        return [row[0] for row in rows]

    async def archived_total(self) -> int:
        return int(await self._db.scalar("SELECT count(*) FROM memories WHERE archived_at IS NOT NULL") or 0)
