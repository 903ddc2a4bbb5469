"""Owning the local vector index: one process at a time writes it (a file lock), it is reopened
with backoff after a failure, and a damaged one is moved aside so a fresh one is built from
SQLite. A Chroma server (CHROMA_HOST) needs no lock and is never moved; neither does PostgreSQL's
pgvector index (PERSONA_MCP_DATABASE_URL), which every worker queries at once."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import anyio

from core.clock import Clock
from core.errors import Unavailable
from core.store.postgres.vector_index import PgVectorIndex
from core.vector_index import IndexLock, VectorIndex, call_index, set_aside_if_damaged

__all__ = ["Index", "IndexOwner"]

# The local or Chroma-server index, or PostgreSQL's pgvector search: the same calls.
Index = VectorIndex | PgVectorIndex

logger = logging.getLogger(__name__)

_REOPEN_MIN_S = 1.0
_REOPEN_MAX_S = 60.0


class IndexOwner:
    """The open index, if this process owns it, and what went wrong with it last."""

    def __init__(
        self,
        index_path: Path,
        lock_path: Path,
        chroma_host: str | None,
        clock: Clock,
        database_url: str | None = None,
    ) -> None:
        self._path = index_path
        self._chroma_host = chroma_host
        self._database_url = database_url
        self._clock = clock
        self._lock = IndexLock(lock_path)
        self.index: Index | None = None
        self.error: str | None = None
        self.repaired: str | None = None  # the last damaged index moved aside, when and where
        self._reopen_at = 0.0
        self._reopen_delay = _REOPEN_MIN_S

    def current(self, model_id: str) -> Index | None:
        """The open index of `model_id`, if this process owns one."""
        return self.index if self.index is not None and self.index.model_id == model_id else None

    async def open(self, model_id: str) -> Index | None:
        """Open the index when it is free (taking the lock) and not backing off. After a failure it
        is not reopened before a backoff (1 s, doubling to a minute), so a broken index costs one
        attempt now and then rather than one per write. The caller `adopt`s what this returns."""
        if time.monotonic() < self._reopen_at:
            return None
        if self._database_url is not None:
            try:
                return await call_index(PgVectorIndex.open, self._database_url, model_id)
            except Exception as exc:  # an unreachable server: searches scan the vectors meanwhile
                self.error = f"pgvector unavailable ({type(exc).__name__}: {exc})"
                self._back_off()
                return None
        if self._chroma_host is None and not self._lock.try_acquire():
            return None
        try:
            return await call_index(VectorIndex.open, self._path, model_id, self._chroma_host)
        except Exception as exc:  # Unavailable, or an open that never returned
            self.error = exc.message if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {exc}"
            logger.warning("vector index unavailable, searching SQLite vectors directly: %s", self.error)
            self._lock.release()
            self._back_off()
            await self._heal(exc)
            return None

    def adopt(self, index: Index) -> None:
        """Start using an index `open` returned."""
        self.index = index
        self.error = None
        self._reopen_delay = _REOPEN_MIN_S

    async def failed(self, exc: Exception) -> None:
        """The index broke under us (its folder deleted or damaged, or a call that never
        returned): stop using it (searches read SQLite's vectors) and let a later sync reopen and
        rebuild it."""
        logger.warning(
            "vector index failed (%s: %s); using SQLite vectors until it is rebuilt", type(exc).__name__, exc
        )
        self.error = f"{type(exc).__name__}: {exc}"
        self._back_off()
        await self.aclose()
        await self._heal(exc)

    async def aclose(self) -> None:
        """Release the index (closed off the event loop, within a timeout) and the lock on it."""
        index, self.index = self.index, None
        if index is not None:
            await index.aclose()
        self._lock.release()

    def _back_off(self) -> None:
        self._reopen_at = time.monotonic() + self._reopen_delay
        self._reopen_delay = min(_REOPEN_MAX_S, self._reopen_delay * 2)

    async def _heal(self, exc: BaseException) -> None:
        """A damaged local index (not a passing failure) is moved aside; the next sync rebuilds it."""
        if self._chroma_host is not None or self._database_url is not None:
            return
        done = await anyio.to_thread.run_sync(set_aside_if_damaged, self._path, exc, self._clock.now())
        if done is not None:
            self.repaired, self._reopen_at = done, 0.0
            logger.warning("%s", done)
