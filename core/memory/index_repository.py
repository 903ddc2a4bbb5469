"""SQL the semantic layer needs besides MemoryRepository's: what lacks a vector (or word pieces)
of the model, what the vector index should hold, and marking memories for the index again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from core.memory.filters import persona_clause
from core.store import Store
from core.store.port import Row

__all__ = ["IndexRepository", "Missing"]

# Live memories without a vector of the current model (bound twice to the model id), written so
# SQLite answers from memories_embedding instead of reading every row after each write.
_UNEMBEDDED = (
    "(embedding_model IS NULL OR embedding_model < ? OR embedding_model > ?) AND archived_at IS NULL"
)
# The same for word-piece signs (late.py), when the model gives them.
# (A separate condition: OR-ing both into one made SQLite scan every memory, 80 ms at 100k, after
# every write.)
_UNPIECED = "(token_model IS NULL OR token_model < ? OR token_model > ?) AND archived_at IS NULL"
_MISSING = {"vector": _UNEMBEDDED, "pieces": _UNPIECED}

Missing = Literal["vector", "pieces"]


class IndexRepository:
    """Counts and batches for embedding and indexing catch-up."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def live_count(self, persona_id: str | None) -> int:
        extra, params = persona_clause(persona_id)
        return int(
            await self._db.scalar(f"SELECT count(*) FROM memories WHERE archived_at IS NULL {extra}", params)
        )

    async def missing_count(self, missing: Missing, model_id: str, persona_id: str | None) -> int:
        extra, params = persona_clause(persona_id)
        sql = f"SELECT count(*) FROM memories WHERE {_MISSING[missing]} {extra}"
        return int(await self._db.scalar(sql, (model_id, model_id, *params)))

    async def missing_batch(
        self, missing: Missing, model_id: str, persona_id: str | None, limit: int
    ) -> list[Row]:
        """(id, content, embedding_model) of the next live memories lacking the model's `missing`."""
        extra, params = persona_clause(persona_id)
        return await self._db.fetch_all(
            f"SELECT id, content, embedding_model FROM memories WHERE {_MISSING[missing]} {extra} "
            "ORDER BY rowid LIMIT ?",
            (model_id, model_id, *params, limit),
        )

    async def pending_count(self, persona_id: str | None) -> int:
        extra, params = persona_clause(persona_id)
        return int(
            await self._db.scalar(
                f"SELECT count(*) FROM memories WHERE indexed_at IS NULL AND archived_at IS NULL {extra}",
                params,
            )
        )

    async def mark_unindexed(self, ids: Sequence[str]) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany("UPDATE memories SET indexed_at = NULL WHERE id = ?", [(i,) for i in ids])

    async def indexed_counts(self, commons: str) -> dict[str, int]:
        """How many live memories SQLite says were indexed, per persona, and (as `commons`) the
        shared and public ones."""
        expected = {
            row[0]: int(row[1])
            for row in await self._db.fetch_all(
                "SELECT persona_id, count(*) FROM memories "
                "WHERE archived_at IS NULL AND indexed_at IS NOT NULL GROUP BY persona_id"
            )
        }
        expected[commons] = int(
            await self._db.scalar(
                "SELECT count(*) FROM memories WHERE archived_at IS NULL AND indexed_at IS NOT NULL "
                "AND visibility != 'private'"
            )
        )
        return expected
