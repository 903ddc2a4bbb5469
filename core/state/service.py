"""state_save and state_load: the whole state in one versioned, verifiable, optionally encrypted
archive, taken and restored while the server runs.

save: SQLite's online backup API copies the live database (a consistent snapshot even while
others write), and the archive carries it with the effective settings (secrets left out).
load: everything is checked before anything changes (decryption, every part's sha256, the
format and schema versions, SQLite's integrity and foreign-key checks on the snapshot); then one
transaction merges or replaces (core/store/snapshot.py). Memories it wrote are marked for re-indexing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import anyio
import orjson
from pydantic import BaseModel, Field

from core import __version__
from core.access import acting, audit, require_admin
from core.clock import Clock, iso
from core.config import SECRET_FIELDS, Settings
from core.errors import InvalidInput
from core.files import write_atomically
from core.state.archive import FORMAT_VERSION, pack, unpack
from core.store import Database, Store
from core.store.database import newest_version
from core.store.postgres.database import PostgresDatabase
from core.store.postgres.state import load_archive_database, save_archive_database
from core.store.snapshot import apply_snapshot, check_snapshot, live_counts, take_snapshot

__all__ = ["LoadResult", "SaveResult", "StateService"]

_DB_PART = "persona.db"
_SETTINGS_PART = "settings.json"
Mode = Literal["merge", "replace"]


class SaveResult(BaseModel):
    """What state_save wrote."""

    path: str
    sha256: str = Field(description="Of the whole file, to check a copy against.")
    size: int
    encrypted: bool
    format_version: int
    counts: dict[str, int] = Field(description="Rows saved: personas, memories, relationships, ...")


class LoadResult(BaseModel):
    """What state_load did."""

    path: str
    mode: Mode
    encrypted: bool
    saved_at: str | None = Field(description="When the archive was made.")
    app_version: str | None = Field(description="The persona-mcp that made it.")
    counts: dict[str, int] = Field(description="Rows now in the database, by table.")
    written: dict[str, int] = Field(description="Rows the load added or replaced, by table.")
    vectors: str = Field(description="What happens to the vector index.")


class StateService:
    """Save the whole state to an archive file, and load one back."""

    def __init__(
        self,
        db: Store,
        settings: Settings,
        clock: Clock,
        after_load: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._after_load = after_load

    async def _schema_version(self) -> int:
        """The SQLite schema version of the archive's database (on PostgreSQL, the newest: a save
        writes one with this persona-mcp's schema)."""
        return await self._db.schema_version() if self._db.engine == "sqlite" else newest_version()

    def default_path(self, now: datetime) -> Path:
        """Where a save goes when no path is given."""
        return self._settings.backup_dir / f"state-{now.strftime('%Y%m%d-%H%M%S')}.pmstate"

    async def save(self, path: Path | None = None, passphrase: str | None = None) -> SaveResult:
        """Write the archive (atomically: a partial file never has the final name)."""
        require_admin("state_save")
        if passphrase is not None and len(passphrase) < 8:
            raise InvalidInput("passphrase", "<hidden>", "Use at least 8 characters.")
        now = self._clock.now()
        target = path or self.default_path(now)
        with tempfile.TemporaryDirectory(prefix="persona-mcp-save-") as scratch:
            snapshot = Path(scratch) / _DB_PART
            if isinstance(self._db, PostgresDatabase):
                await save_archive_database(self._db, snapshot)
                counts, database = (
                    await anyio.to_thread.run_sync(live_counts, snapshot),
                    snapshot.read_bytes(),
                )
            else:
                counts, database = await anyio.to_thread.run_sync(
                    take_snapshot, self._settings.database_path, snapshot
                )
            settings = self._settings.model_dump(mode="json", exclude=set(SECRET_FIELDS))
            manifest = {
                "app_version": __version__,
                "created_at": iso(now),
                "schema_version": await self._schema_version(),
                "counts": counts,
            }
            parts = {_DB_PART: database, _SETTINGS_PART: orjson.dumps(settings)}
            data = await anyio.to_thread.run_sync(pack, manifest, parts, passphrase)
        try:
            await anyio.to_thread.run_sync(write_atomically, target, data)
        except OSError as exc:
            raise InvalidInput("path", str(target), f"It cannot be written ({exc.strerror}).") from None
        return SaveResult(
            path=str(target),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            encrypted=passphrase is not None,
            format_version=FORMAT_VERSION,
            counts=counts,
        )

    async def load(self, path: Path, passphrase: str | None = None, mode: Mode = "merge") -> LoadResult:
        """Validate the archive in full, then merge it into the database or replace it."""
        require_admin("state_load")
        newest = await self._schema_version()
        # Unpacked beside the database (same disk, private folder), not in a small /tmp.
        with tempfile.TemporaryDirectory(prefix=".load-", dir=self._settings.data_dir) as scratch:
            archive = await anyio.to_thread.run_sync(unpack, path, passphrase, Path(scratch), "path")
            if _DB_PART not in archive.parts:
                raise InvalidInput("path", str(path), "The archive holds no database.")
            snapshot = archive.parts[_DB_PART]
            version = await anyio.to_thread.run_sync(check_snapshot, snapshot, newest)
            if version < newest:  # an older schema: bring the copy up to date first
                await (await Database.open(snapshot)).close()
            now = iso(self._clock.now())
            who = acting().name

            async def audited(tx: Any) -> None:
                await audit(tx, now, who, f"state_load_{mode}", "archive", path.name)

            try:
                if isinstance(self._db, PostgresDatabase):
                    written = await load_archive_database(
                        self._db, snapshot, mode, now, Path(scratch), audited
                    )
                    counts = await anyio.to_thread.run_sync(live_counts, Path(scratch) / "live.db")
                else:
                    written = await anyio.to_thread.run_sync(
                        apply_snapshot, self._settings.database_path, snapshot, mode, now
                    )
            except sqlite3.IntegrityError as exc:
                raise InvalidInput(
                    "mode", mode, f"The archive's rows clash with this database's ({exc}); nothing changed."
                ) from None
        if not isinstance(self._db, PostgresDatabase):
            async with self._db.transaction() as tx:
                await audited(tx)
            counts = await anyio.to_thread.run_sync(live_counts, self._settings.database_path)
        vectors = await self._after_load() if self._after_load else "rebuilt when the server next starts"
        return LoadResult(
            path=str(path),
            mode=mode,
            encrypted=archive.encrypted,
            saved_at=archive.manifest.get("created_at"),
            app_version=archive.manifest.get("app_version"),
            counts=counts,
            written={table: rows for table, rows in written.items() if rows},
            vectors=vectors,
        )
