"""Rows of persona_files: the image and archive members a card came in, kept byte for byte."""

from __future__ import annotations

from collections.abc import Mapping

from core.store.port import Store

__all__ = ["PersonaFiles"]


class PersonaFiles:
    """Reads and replaces the files kept with a persona (callers check access first)."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def of(self, persona_id: str) -> dict[str, bytes]:
        rows = await self._db.fetch_all(
            "SELECT path, data FROM persona_files WHERE persona_id = ? ORDER BY position", (persona_id,)
        )
        return {row["path"]: bytes(row["data"]) for row in rows}

    async def replace(self, persona_id: str, files: Mapping[str, bytes], at: str) -> None:
        """Keep exactly these files with the persona (in this order)."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM persona_files WHERE persona_id = ?", (persona_id,))
            await tx.executemany(
                "INSERT INTO persona_files (persona_id, path, position, data, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(persona_id, path, n, data, at) for n, (path, data) in enumerate(files.items())],
            )
