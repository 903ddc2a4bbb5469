"""SQL for changing stored memories: set columns, archive, restore, purge, and which of some ids
are still live. Each runs inside the caller's write transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aiosqlite

from core.access import acting

__all__ = ["MemoryChanges"]


class MemoryChanges:
    """Writes that change memories already stored (storing new ones is MemoryRepository.insert)."""

    @staticmethod
    async def set_columns(tx: aiosqlite.Connection, memory_id: str, columns: Mapping[str, object]) -> None:
        """`columns` (names chosen by the code, never by a caller) set on the memory."""
        assignments = ", ".join(f"{column} = ?" for column in columns)
        await tx.execute(f"UPDATE memories SET {assignments} WHERE id = ?", (*columns.values(), memory_id))

    @staticmethod
    async def purge(tx: aiosqlite.Connection, memory_id: str) -> None:
        await tx.execute("DELETE FROM memories WHERE id = ?", (memory_id,))

    @staticmethod
    async def archive(tx: aiosqlite.Connection, memory_id: str, now: str) -> None:
        await tx.execute(
            "UPDATE memories SET archived_at = ?, updated_at = ?, indexed_at = NULL, updated_by = ? "
            "WHERE id = ?",
            (now, now, acting().name, memory_id),
        )

    @staticmethod
    async def restore(tx: aiosqlite.Connection, memory_id: str, now: str) -> None:
        """Back from the archive; decay resumes from the strength it had when archived (the
        archive does not age it)."""
        await tx.execute(
            "UPDATE memories SET archived_at = NULL, indexed_at = NULL, updated_at = ?1, "
            "anchor_at = ?1, anchor_strength = strength, decayed_at = ?1, updated_by = ?3 WHERE id = ?2",
            (now, memory_id, acting().name),
        )

    @staticmethod
    async def live_among(tx: aiosqlite.Connection, ids: Iterable[str]) -> set[str]:
        """Those of `ids` that are stored and not archived."""
        wanted = tuple(ids)
        if not wanted:
            return set()
        marks = ", ".join("?" * len(wanted))
        async with tx.execute(
            f"SELECT id FROM memories WHERE id IN ({marks}) AND archived_at IS NULL", wanted
        ) as cursor:
            return {row[0] for row in await cursor.fetchall()}
