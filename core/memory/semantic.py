"""The semantic side of memory: the embedder, the vector index, and keeping the index caught up.

SQLite holds every memory and its vector. The Chroma index is derived from it: a memory whose
`indexed_at` is NULL is pending, and the process that owns the index (see IndexLock) writes pending
rows into it from a background loop. Searches never wait for that loop: they add the pending rows'
vectors (read from SQLite) to what the index returns, and a process that does not own the index
scans the vectors in SQLite directly. So nothing acknowledged is ever missing from a search, and
deleting the index folder only costs the time to rebuild it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np

from core.access.principal import acting
from core.clock import Clock, iso
from core.embeddings import EmbedderSlot
from core.errors import Unavailable
from core.memory import witness_repository as witnesses
from core.memory.embedding import Embedding, top_similar
from core.memory.filters import MemoryFilter
from core.memory.index_owner import Index, IndexOwner
from core.memory.index_repository import IndexRepository, Missing
from core.memory.repository import MemoryRepository
from core.store import Store
from core.vector_index import COMMONS, IndexEntry, call_index

__all__ = ["Progress", "SemanticLayer", "SyncReport"]

logger = logging.getLogger(__name__)

Progress = Callable[[float, float | None, str], Awaitable[None]]
_DEDUP_HITS = 5  # index neighbours a near-duplicate check considers (the first allowed wins)
_CATCH_UP_BATCH = 512
# Index entries fetched per scope before SQL filters; generous so filters rarely starve a query.
_MIN_FETCH = 100


@dataclass
class SyncReport:
    """What one catch-up or rebuild did."""

    embedded: int = 0
    indexed: int = 0
    orphans_removed: int = 0


class SemanticLayer(Embedding):
    """Embeds, indexes and retrieves by meaning for the memory service."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        slot: EmbedderSlot,
        index_path: Path,
        lock_path: Path,
        chroma_host: str | None = None,
        database_url: str | None = None,
    ) -> None:
        super().__init__(slot)
        self._db = db
        self._repo = MemoryRepository(db)
        self._index_rows = IndexRepository(db)
        self._clock = clock
        self._owner = IndexOwner(index_path, lock_path, chroma_host, clock, database_url)
        self._sync_lock = anyio.Lock()

    # ---- index ownership (index_owner.py) ----

    @property
    def owns_index(self) -> bool:
        return self._owner.index is not None

    @property
    def index_error(self) -> str | None:
        return self._owner.error

    @property
    def index_repaired(self) -> str | None:
        return self._owner.repaired

    async def _ensure_index(self, model_id: str) -> Index | None:
        """The index, when this process owns it (taking ownership if it is free)."""
        if (index := self._owner.current(model_id)) is not None:
            return index
        opened = await self._owner.open(model_id)
        if opened is None:
            return None
        try:
            # before searches use it: until then they scan SQLite, which misses nothing
            await self._mark_unindexed_missing(opened)
        except Exception as exc:  # chromadb raises assorted internal errors for a damaged index
            self._owner.index = opened
            await self._owner.failed(exc)
            return None
        self._owner.adopt(opened)
        return opened

    async def aclose(self) -> None:
        """Release the index and the lock on it."""
        await self._owner.aclose()

    # ---- retrieval ----

    async def nearest(self, where: MemoryFilter, query: np.ndarray, n: int) -> dict[str, float]:
        """Cosine similarity of up to about `n` memories nearest to `query` among those `where`
        allows (plus some it does not; the caller filters in SQL)."""
        model_id = await self.model_id()
        if model_id is None:
            return {}
        index = self._owner.current(model_id)
        if index is None:
            ids, matrix = await self._repo.scan(where, model_id)
            return top_similar(ids, matrix, query, n)
        fetch = max(_MIN_FETCH, n)
        scopes = [where.persona_id, COMMONS] if where.include_others_shared else [where.persona_id]

        def query_scopes() -> dict[str, float]:
            found: dict[str, float] = {}
            for scope in scopes:
                found.update(index.query(scope, query.reshape(1, -1), fetch)[0])
            return found

        # Pending rows are read before the index is asked: a row the catch-up marks as indexed
        # after this read was written to the index before it was marked, so the query sees it.
        # (The other order loses a memory marked between the two reads.)
        pending_ids, pending = await self._pending(index, where, model_id)
        try:
            found = await call_index(query_scopes)
        except Exception as exc:  # chromadb raises assorted internal errors for a damaged index
            await self._owner.failed(exc)
            ids, matrix = await self._repo.scan(where, model_id)
            return top_similar(ids, matrix, query, n)
        found.update(top_similar(pending_ids, pending, query, fetch))
        if where.include_witnessed:
            ids, matrix = await witnesses.witnessed_vectors(self._db, where, model_id)
            found.update(top_similar(ids, matrix, query, fetch))
        return found

    async def _pending(
        self, index: Index, where: MemoryFilter, model_id: str
    ) -> tuple[list[str], np.ndarray | None]:
        """Vectors stored but not yet in `index`; none for an index that is the stored vectors
        themselves (PostgreSQL's), which a search must not read twice."""
        return ([], None) if index.complete else await self._repo.pending_vectors(where, model_id)

    async def nearest_many(self, persona_id: str, vectors: np.ndarray) -> list[tuple[str | None, float]]:
        """For each row of `vectors`, the persona's most similar live memory and its similarity
        ((None, -1.0) when it has none) that the acting principal wrote (an admin: any): the
        near-duplicate check of memory_store."""
        model_id = await self.model_id()
        best: list[tuple[str | None, float]] = [(None, -1.0)] * len(vectors)
        if model_id is None:
            return best
        where = MemoryFilter(persona_id=persona_id, authored_only=True, true_at=iso(self._clock.now()))
        # The index knows nothing of principals: one that is no admin compares with the memories
        # it wrote itself, read from SQLite (a principal's share of a persona is small).
        index = self._owner.current(model_id) if acting().admin else None
        hits: list[list[tuple[str, float]]] | None = None
        if index is not None:
            ids, matrix = await self._pending(index, where, model_id)  # first, as in nearest()
            try:
                hits = await call_index(index.query, persona_id, vectors, _DEDUP_HITS)
            except Exception as exc:  # as in nearest(): fall back to SQLite's vectors
                await self._owner.failed(exc)
        if hits is None:
            ids, matrix = await self._repo.scan(where, model_id)
        else:  # the nearest that `where` allows: not one that stopped being true, say
            found = {memory_id for row in hits for memory_id, _ in row}
            allowed = set(await self._repo.rows(list(found), where)) if found else set()
            best = [next(((m, score) for m, score in row if m in allowed), (None, -1.0)) for row in hits]
        if matrix is not None:
            scores = vectors @ matrix.T
            for row, column in enumerate(np.argmax(scores, axis=1)):
                if scores[row, column] > best[row][1]:
                    best[row] = (ids[column], float(scores[row, column]))
        return best

    async def run(self, wake: Callable[[], Awaitable[None]], interval: float) -> None:
        """Keep the index caught up: after local writes (`wake` returns) and every `interval`
        seconds (for rows other processes wrote, and to take over an index whose owner exited).
        Also re-checks collection sizes now and then, removing entries of memories that other
        processes deleted."""
        audit_every = max(1, int(30 / interval))
        rounds = 0
        await self.slot.get()
        while True:
            try:
                await self.sync()
                if self._owner.index is not None and rounds % audit_every == 0:
                    async with self._sync_lock:
                        index = self._owner.index
                        try:
                            if index is not None:
                                await self._mark_unindexed_missing(index)
                        except Exception as exc:  # a damaged index, as in _ensure_index
                            await self._owner.failed(exc)
            except Exception:  # the loop must outlive a transient failure (disk full, locked db)
                logger.exception("vector index catch-up failed; retrying in %.1fs", interval)
            rounds += 1
            with anyio.move_on_after(interval):
                await wake()

    # ---- keeping the index caught up ----

    async def sync(self, progress: Progress | None = None, persona_id: str | None = None) -> SyncReport:
        """Embed memories that lack a vector of the current model, then (when this process owns the
        index) write every pending memory into it."""
        model_id = await self.model_id()
        report = SyncReport()
        if model_id is None:
            return report
        async with self._sync_lock:
            report.embedded = await self._embed_missing(model_id, persona_id, progress)
            index = await self._ensure_index(model_id)
            if index is not None:
                report.indexed = await self._catch_up(index, model_id, persona_id, progress)
        return report

    async def rebuild(self, persona_id: str | None, progress: Progress | None = None) -> SyncReport:
        """memory_reindex: compare the index with SQLite, remove orphans, re-add what is missing."""
        model_id = await self.model_id()
        if model_id is None:
            raise Unavailable(
                f"No embedding model is loaded, so there is no index to rebuild. {self.slot.error}"
            )
        async with self._sync_lock:
            report = SyncReport()
            report.embedded = await self._embed_missing(model_id, persona_id, progress)
            index = await self._ensure_index(model_id)
            if index is None:
                raise Unavailable(
                    self.index_error
                    or "another persona-mcp process sharing this data folder owns the vector index; it "
                    "keeps it caught up, and searches here read vectors from SQLite meanwhile"
                )
            report.orphans_removed = await self._reconcile(index, persona_id)
            report.indexed = await self._catch_up(index, model_id, persona_id, progress)
        if progress:
            live = await self._index_rows.live_count(persona_id)
            await progress(live, live, f"index holds all {live} live memories")
        return report

    async def forget(self, persona_id: str, memory_ids: Sequence[str]) -> None:
        """Drop archived or deleted memories from the index now (when this process owns it)."""
        index = self._owner.index
        if index is not None and memory_ids:
            try:
                await call_index(index.delete, persona_id, memory_ids)
                await call_index(index.delete, COMMONS, memory_ids)
            except Exception as exc:  # as in _catch_up; the rebuild drops them (orphans)
                await self._owner.failed(exc)

    async def _embed_missing(self, model_id: str, persona_id: str | None, progress: Progress | None) -> int:
        """Embed live memories without a vector of the model, then those without its word pieces
        (written before version 6, or while another model was loaded). Returns how many got a new
        vector."""
        embedder = await self.slot.get()
        conditions: list[Missing] = ["vector", "pieces"] if embedder and embedder.word_pieces else ["vector"]
        embedded = 0
        for missing in conditions:
            embedded += await self._embed_where(missing, model_id, persona_id, progress)
        return embedded

    async def _embed_where(
        self, missing: Missing, model_id: str, persona_id: str | None, progress: Progress | None
    ) -> int:
        total = await self._index_rows.missing_count(missing, model_id, persona_id)
        done = embedded = 0
        while done < total:
            rows = await self._index_rows.missing_batch(missing, model_id, persona_id, _CATCH_UP_BATCH)
            if not rows:
                break
            encoded = await self.encode([row[1] for row in rows])
            if encoded is None:
                break
            ids = [row[0] for row in rows]
            # A vector that is already the model's stays, so the index is not rewritten for it.
            stale = {
                i: vector
                for i, vector, row in zip(ids, encoded.vectors, rows, strict=True)
                if row[2] != model_id
            }
            async with self._db.transaction() as tx:
                await MemoryRepository.put_vectors(tx, model_id, stale)
                if encoded.pieces is not None:
                    await MemoryRepository.put_pieces(
                        tx, model_id, dict(zip(ids, encoded.pieces, strict=True))
                    )
            done += len(rows)
            embedded += len(stale)
            if progress:
                await progress(done, total, f"embedded {done} of {total} memories with {model_id}")
        return embedded

    async def _catch_up(
        self, index: Index, model_id: str, persona_id: str | None, progress: Progress | None
    ) -> int:
        total = await self._index_rows.pending_count(persona_id)
        done = 0
        while True:
            rows = [
                row
                for row in await self._repo.pending(model_id, _CATCH_UP_BATCH, persona_id)
                if row.vector is not None
            ]
            if not rows:
                return done
            entries = [IndexEntry(r.memory_id, r.persona_id, r.visibility, r.kind, r.vector) for r in rows]  # type: ignore[arg-type]
            try:
                await call_index(index.upsert, entries)
            except Exception as exc:  # e.g. its folder was deleted: chromadb's file is now read-only
                await self._owner.failed(exc)
                return done
            async with self._db.transaction() as tx:
                await MemoryRepository.mark_indexed(
                    tx, [r.memory_id for r in rows], model_id, iso(self._clock.now())
                )
            done += len(rows)
            if progress:
                await progress(done, max(total, done), f"indexed {done} of {max(total, done)} memories")

    async def _reconcile(self, index: Index, persona_id: str | None) -> int:
        """Remove index entries with no live memory; mark live memories the index lacks as pending."""
        if persona_id:
            scopes = [persona_id]
        else:
            held_scopes = await call_index(index.scopes)
            scopes = sorted(set(held_scopes) | set(await self._repo.persona_ids_with_memories()) | {COMMONS})
        removed = 0
        for scope in scopes:
            removed += await self._reconcile_scope(index, scope)
        return removed

    async def _reconcile_scope(self, index: Index, scope: str) -> int:
        if scope == COMMONS:
            live = await self._repo.live_ids(shared_only=True)
        else:
            live = await self._repo.live_ids(scope)
        held = await call_index(index.ids, scope)
        orphans = sorted(held - live)
        await call_index(index.delete, scope, orphans)
        missing = sorted(live - held)
        if missing:
            await self._index_rows.mark_unindexed(missing)
        return len(orphans)

    async def _mark_unindexed_missing(self, index: Index) -> None:
        """On taking the index: where a collection's size differs from what SQLite says was indexed
        (the folder was deleted, restored from an older copy, or another process deleted memories),
        reconcile that collection."""
        expected = await self._index_rows.indexed_counts(COMMONS)
        for scope in set(expected) | set(await call_index(index.scopes)):
            held = await call_index(index.count, scope)
            if held != expected.get(scope, 0):
                logger.info(
                    "vector index %s holds %d entries, SQLite expects %d: reconciling",
                    scope,
                    held,
                    expected.get(scope, 0),
                )
                await self._reconcile_scope(index, scope)
