"""The vector index: ChromaDB collections rebuilt from SQLite whenever they fall behind.

Layout, per embedding model (vectors of two models never share a collection):
  <model>--p--<persona_id>   every live memory of one persona
  <model>--commons           every live shared or public memory, of any persona
Queries run without metadata filters, because Chroma's filtered search grows with the number of
rows that match (about 200 ms at 100k on two cores, against 3 ms unfiltered); the memory engine
over-fetches and applies its filters in SQLite instead.

A local index (PersistentClient under the data dir) may be written by one process at a time:
`IndexLock` decides which. The others leave new rows pending in SQLite for the owner to pick up.
`CHROMA_HOST` points at a Chroma server instead, which serialises writers itself.

Every method here blocks; callers run them on a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import numpy as np
from filelock import FileLock, Timeout

from core.errors import Unavailable
from core.store.database import DAMAGE_TEXT

__all__ = [
    "COMMONS",
    "INDEX_CALL_TIMEOUT_S",
    "IndexEntry",
    "IndexLock",
    "VectorIndex",
    "call_index",
    "looks_damaged",
    "set_aside_if_damaged",
]

logger = logging.getLogger(__name__)

COMMONS = "--commons"
_UPSERT_BATCH = 2_000
# A Chroma call that has not returned by then is given up on; closing waits this long at most.
INDEX_CALL_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 5.0
T = TypeVar("T")


@dataclass(frozen=True)
class IndexEntry:
    """One memory as the index stores it."""

    memory_id: str
    persona_id: str
    visibility: str
    kind: str
    vector: np.ndarray


class IndexLock:
    """An advisory lock file: the process holding it writes the local index. The OS releases it
    when the process dies, so a crashed owner never blocks the others."""

    def __init__(self, path: Path) -> None:
        self._lock = FileLock(str(path))

    @property
    def held(self) -> bool:
        """True while this process owns the index."""
        return self._lock.is_locked

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        """Give the lock up (at shutdown)."""
        if self._lock.is_locked:
            self._lock.release(force=True)


def _model_prefix(model_id: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", model_id).strip("-")[:40] or "model"
    return f"{slug}-{hashlib.sha256(model_id.encode()).hexdigest()[:8]}"


class VectorIndex:
    """The Chroma collections of one embedding model."""

    complete = False  # memories stored since the catch-up last ran are not in it yet

    def __init__(self, client: Any, model_id: str) -> None:
        self._client = client
        self.model_id = model_id
        self._prefix = _model_prefix(model_id)
        self._collections: dict[str, Any] = {}

    @classmethod
    def open(cls, path: Path, model_id: str, chroma_host: str | None = None) -> VectorIndex:
        """Open the local index at `path`, or the Chroma server at `chroma_host` (host:port or URL)."""
        import chromadb
        import chromadb.config

        settings = chromadb.config.Settings(anonymized_telemetry=False)
        try:
            if chroma_host:
                host, port, ssl = _parse_host(chroma_host)
                client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
                client.heartbeat()
            else:
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:  # chromadb raises many types for an unreachable or damaged store
            where = f"the Chroma server at {chroma_host}" if chroma_host else f"the index at {path}"
            raise Unavailable(f"{where} cannot be opened ({type(exc).__name__}: {exc})") from exc
        return cls(client, model_id)

    async def aclose(self) -> None:
        """close() on a worker thread, given up on after CLOSE_TIMEOUT_S (a wedged index must not
        stall the event loop or a shutdown)."""
        with anyio.move_on_after(CLOSE_TIMEOUT_S):
            await anyio.to_thread.run_sync(self.close, abandon_on_cancel=True)

    def close(self) -> None:
        """Forget this process's cached Chroma clients, so a later open reads the folder afresh
        (chromadb keeps one client per path per process, even after the folder is gone)."""
        from chromadb.api.shared_system_client import SharedSystemClient

        self._collections.clear()
        SharedSystemClient.clear_system_cache()

    def collection_name(self, scope: str) -> str:
        """The collection for a persona id, or COMMONS."""
        return f"{self._prefix}{COMMONS}" if scope == COMMONS else f"{self._prefix}--p--{scope}"

    def _collection(self, scope: str) -> Any:
        collection = self._collections.get(scope)
        if collection is None:
            collection = self._client.get_or_create_collection(
                self.collection_name(scope),
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"model_id": self.model_id, "scope": scope},
                embedding_function=None,
            )
            self._collections[scope] = collection
        return collection

    def scopes(self) -> list[str]:
        """Persona ids (and COMMONS) that have a collection for this model."""
        found = []
        marker = f"{self._prefix}--p--"
        for name in self._client.list_collections():
            name = getattr(name, "name", name)
            if name == f"{self._prefix}{COMMONS}":
                found.append(COMMONS)
            elif name.startswith(marker):
                found.append(name.removeprefix(marker))
        return found

    def upsert(self, entries: Sequence[IndexEntry]) -> None:
        """Write entries to their persona's collection, and shared/public ones to the commons."""
        by_scope: dict[str, list[IndexEntry]] = {}
        for entry in entries:
            by_scope.setdefault(entry.persona_id, []).append(entry)
            if entry.visibility != "private":
                by_scope.setdefault(COMMONS, []).append(entry)
        for scope, items in by_scope.items():
            collection = self._collection(scope)
            for start in range(0, len(items), _UPSERT_BATCH):
                chunk = items[start : start + _UPSERT_BATCH]
                collection.upsert(
                    ids=[entry.memory_id for entry in chunk],
                    embeddings=np.stack([entry.vector for entry in chunk]),
                    metadatas=[
                        {"persona_id": e.persona_id, "visibility": e.visibility, "kind": e.kind}
                        for e in chunk
                    ],
                )
        # A private entry may have been shared before: it leaves the commons.
        self.delete(COMMONS, [entry.memory_id for entry in entries if entry.visibility == "private"])

    def delete(self, scope: str, ids: Iterable[str]) -> None:
        """Remove entries from one collection (unknown ids are ignored)."""
        ids = list(ids)
        if ids:
            self._collection(scope).delete(ids=ids)

    def ids(self, scope: str) -> set[str]:
        """Every id in one collection."""
        return set(self._collection(scope).get(include=[])["ids"])

    def count(self, scope: str) -> int:
        """How many entries one collection holds."""
        return int(self._collection(scope).count())

    def query(self, scope: str, vectors: np.ndarray, n: int) -> list[list[tuple[str, float]]]:
        """For each row of `vectors`, the `n` nearest entries of one collection as
        (memory id, cosine similarity), nearest first."""
        # No count() first: it costs 6 ms at 100k entries, and Chroma answers a request for more
        # results than it holds with all it has.
        result = self._collection(scope).query(query_embeddings=vectors, n_results=n, include=["distances"])
        return [
            [(memory_id, 1.0 - float(distance)) for memory_id, distance in zip(ids, distances, strict=True)]
            for ids, distances in zip(result["ids"], result["distances"], strict=True)
        ]


async def call_index(fn: Callable[..., T], *args: Any) -> T:
    """Run a Chroma call on a worker thread within INDEX_CALL_TIMEOUT_S (TimeoutError after: the
    thread is abandoned and the caller treats the index as failed). A wedged index, seen on a
    full disk, must never stall a request."""
    with anyio.fail_after(INDEX_CALL_TIMEOUT_S):
        return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


def looks_damaged(path: Path, exc: BaseException) -> bool:
    """Whether the local index at `path` is damaged (garbage in chroma.sqlite3, a file where the
    folder should be) rather than briefly unavailable (a full disk, a lock, a timeout)."""
    if path.exists() and not path.is_dir():
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if DAMAGE_TEXT.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def set_aside_if_damaged(path: Path, exc: BaseException, now: datetime) -> str | None:
    """When the local index at `path` looks damaged, rename it out of the way (kept, for whoever
    wants to look at it) so a fresh one can be built from SQLite; what was done, or None."""
    if not looks_damaged(path, exc):
        return None
    aside = path.with_name(f"{path.name}.damaged-{now.strftime('%Y%m%d-%H%M%S')}")
    path.rename(aside)
    return (
        f"{now.isoformat(timespec='seconds')}: the index at {path} was damaged ({exc}); it was moved to "
        f"{aside} and rebuilt from SQLite. Delete {aside} when you no longer need it."
    )


def _parse_host(value: str) -> tuple[str, int, bool]:
    ssl = value.startswith("https://")
    bare = value.split("://", 1)[-1].rstrip("/")
    host, _, port = bare.partition(":")
    return host, int(port) if port else (443 if ssl else 8000), ssl
