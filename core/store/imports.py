"""Rows of imported_items: which items of an outside source a persona has already taken in."""

from __future__ import annotations

from collections.abc import Sequence

from core.store.port import Store

__all__ = ["ImportLedger", "LedgerRow"]

# (item, memory_id, conversation_id)
LedgerRow = tuple[str, str | None, str | None]


class ImportLedger:
    """Which items of a source were imported for a persona, so a second import adds nothing."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def done(self, persona_id: str, source: str) -> set[str]:
        rows = await self._db.fetch_all(
            "SELECT item FROM imported_items WHERE persona_id = ? AND source = ?", (persona_id, source)
        )
        return {row["item"] for row in rows}

    async def record(self, persona_id: str, source: str, rows: Sequence[LedgerRow], at: str) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT OR IGNORE INTO imported_items (persona_id, source, item, memory_id, conversation_id, "
                "imported_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(persona_id, source, item, memory, conversation, at) for item, memory, conversation in rows],
            )
