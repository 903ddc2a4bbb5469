"""Embedding for the memory service: the loaded embedder, unit vectors, and reuse of the vectors
of recent search queries when the same text is stored right after (a chat message that was
searched with, then kept as a memory, is embedded once)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from core.embeddings import EmbedderSlot

__all__ = ["Embedding", "top_similar"]

_RECENT_QUERIES = 256


def _normalised(vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class Embedding:
    """Texts to unit vectors with the embedder in `slot` (loaded in the background)."""

    def __init__(self, slot: EmbedderSlot) -> None:
        self.slot = slot
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    async def model_id(self) -> str | None:
        embedder = await self.slot.get()
        return embedder.model_id if embedder else None

    async def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Unit vectors for the texts (one row each), or None without an embedder."""
        embedder = await self.slot.get()
        if embedder is None or not texts:
            return None
        return _normalised(await embedder.embed(list(texts)))

    async def embed_query(self, text: str) -> np.ndarray | None:
        """The vector of a search query (always embedded afresh), kept for `embed_for_store`."""
        vectors = await self.embed([text])
        if vectors is not None:
            self._queries[text] = vectors[0]
            while len(self._queries) > _RECENT_QUERIES:
                self._queries.popitem(last=False)
        return None if vectors is None else vectors[0]

    async def embed_for_store(self, texts: Sequence[str]) -> np.ndarray | None:
        """Like `embed`, reusing the vectors of texts that were just searched with."""
        if not texts or await self.slot.get() is None:
            return None
        missing = list(dict.fromkeys(text for text in texts if text not in self._queries))
        vectors = await self.embed(missing) if missing else None
        fresh = dict(zip(missing, vectors if vectors is not None else [], strict=True))
        return np.vstack([self._queries[t] if t in self._queries else fresh[t] for t in texts])


def top_similar(ids: list[str], matrix: np.ndarray | None, query: np.ndarray, n: int) -> dict[str, float]:
    """The `n` rows of `matrix` (ids in `ids`) most similar to `query`, with their similarity."""
    if matrix is None or not ids:
        return {}
    scores = matrix @ query
    keep = np.argpartition(-scores, n - 1)[:n] if len(ids) > n else np.arange(len(ids))
    return {ids[i]: float(scores[i]) for i in keep if math.isfinite(float(scores[i]))}
