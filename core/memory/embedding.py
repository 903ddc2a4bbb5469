"""Embedding for the memory service: the loaded embedder, unit vectors and word-piece signs
(late.py), and reuse of what recent search queries were embedded to when the same text is stored
right after (a chat message that was searched with, then kept as a memory, is embedded once)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.embeddings import EmbedderSlot
from core.memory import late
from core.onnx_bert import TokenVectors

__all__ = ["Embedding", "Encoded", "Query", "top_similar"]

_RECENT_QUERIES = 256


def _normalised(vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


@dataclass(frozen=True)
class Encoded:
    """What storing keeps of some texts: unit vectors (one row each) and, when the model gives
    them, each text's word-piece signs."""

    vectors: np.ndarray
    pieces: list[bytes] | None


@dataclass(frozen=True)
class Query:
    """A search query embedded: its unit vector and its content word pieces' unit vectors (None
    when the model gives no word pieces)."""

    vector: np.ndarray
    pieces: np.ndarray | None
    tokens: TokenVectors | None

    @property
    def packed(self) -> bytes | None:
        return None if self.tokens is None else late.pack(self.tokens)


class Embedding:
    """Texts to unit vectors with the embedder in `slot` (loaded in the background)."""

    def __init__(self, slot: EmbedderSlot) -> None:
        self.slot = slot
        self._queries: OrderedDict[str, Query] = OrderedDict()

    async def model_id(self) -> str | None:
        embedder = await self.slot.get()
        return embedder.model_id if embedder else None

    async def encode(self, texts: Sequence[str]) -> Encoded | None:
        """Unit vectors and word-piece signs for the texts, from one pass of the model; None
        without an embedder."""
        encoded = await self._encode(texts)
        if encoded is None:
            return None
        vectors, tokens = encoded
        return Encoded(vectors, None if tokens is None else [late.pack(item) for item in tokens])

    async def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors] | None] | None:
        embedder = await self.slot.get()
        if embedder is None or not texts:
            return None
        both = await embedder.embed_tokens(list(texts))
        if both is None:
            return _normalised(await embedder.embed(list(texts))), None
        return _normalised(both[0]), both[1]

    async def embed_query(self, text: str) -> Query | None:
        """A search query (always embedded afresh), kept for `embed_for_store`."""
        encoded = await self._encode([text])
        if encoded is None:
            return None
        vectors, tokens = encoded
        token = None if tokens is None else tokens[0]
        query = Query(vectors[0], None if token is None else late.query_pieces(token), token)
        self._queries[text] = query
        while len(self._queries) > _RECENT_QUERIES:
            self._queries.popitem(last=False)
        return query

    async def embed_for_store(self, texts: Sequence[str]) -> Encoded | None:
        """Like `encode`, reusing what texts that were just searched with were embedded to."""
        if not texts or await self.slot.get() is None:
            return None
        missing = list(dict.fromkeys(text for text in texts if text not in self._queries))
        encoded = await self.encode(missing) if missing else None
        fresh: dict[str, tuple[np.ndarray, bytes | None]] = {}
        if encoded is not None:
            pieces: Sequence[bytes | None] = encoded.pieces or [None] * len(missing)
            fresh = dict(zip(missing, zip(encoded.vectors, pieces, strict=True), strict=True))
        for text in texts:
            if text in self._queries:
                query = self._queries[text]
                fresh[text] = (query.vector, query.packed)
        rows = [fresh[text] for text in texts]
        packed = [blob for _, blob in rows]
        return Encoded(
            np.vstack([vector for vector, _ in rows]),
            None if any(blob is None for blob in packed) else [blob or b"" for blob in packed],
        )


def top_similar(ids: list[str], matrix: np.ndarray | None, query: np.ndarray, n: int) -> dict[str, float]:
    """The `n` rows of `matrix` (ids in `ids`) most similar to `query`, with their similarity."""
    if matrix is None or not ids:
        return {}
    scores = matrix @ query
    keep = np.argpartition(-scores, n - 1)[:n] if len(ids) > n else np.arange(len(ids))
    return {ids[i]: float(scores[i]) for i in keep if math.isfinite(float(scores[i]))}
