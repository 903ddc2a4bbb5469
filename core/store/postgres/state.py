"""State archives on PostgreSQL. An archive holds an SQLite database whichever engine made it, so
a save copies PostgreSQL into a new SQLite file (one consistent moment: REPEATABLE READ), and a
load copies the store into an SQLite scratch file, applies the archive there exactly as on SQLite
(core/store/snapshot.py: merge or replace), and makes PostgreSQL hold the result, all inside one
write transaction: no other worker writes in between, and readers see the old rows until it
commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import anyio

from core.store.postgres.copy import export_to_sqlite, import_from_sqlite
from core.store.postgres.database import PostgresDatabase, Transaction
from core.store.snapshot import apply_snapshot

__all__ = ["load_archive_database", "save_archive_database"]


async def save_archive_database(db: PostgresDatabase, target: Path) -> None:
    """Write the whole store into a new SQLite database at `target`."""
    async with db.reading() as tx:
        await export_to_sqlite(tx, target)


async def load_archive_database(
    db: PostgresDatabase,
    snapshot: Path,
    mode: Literal["merge", "replace"],
    now: str,
    scratch: Path,
    audit: Callable[[Transaction], Awaitable[None]],
) -> dict[str, int]:
    """Merge or replace the store with the SQLite `snapshot`; rows written per table. `audit` is
    called with the transaction before it commits (the load's own audit row)."""
    live = scratch / "live.db"
    async with db.transaction() as tx:
        await export_to_sqlite(tx, live)
        written = await anyio.to_thread.run_sync(apply_snapshot, live, snapshot, mode, now)
        await import_from_sqlite(tx, live)
        await audit(tx)
    return written
