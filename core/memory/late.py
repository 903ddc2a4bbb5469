"""Late interaction: a query matched against memories word piece by word piece.

A memory's embedding is the mean of its word pieces' contextual vectors, so a message about three
things matches a question about one of them only faintly, and a question about two things is
matched by neither message alone. The embedder's last layer keeps one vector per word piece; for
each content piece of the query, the best cosine among a memory's pieces says whether the memory
speaks of it, and the mean over the query's pieces is how much of the question the memory covers
(MaxSim, as in ColBERT, here with the unmodified sentence model).

Two components of the search score come from it (ranking.py):
  tokens   the memory's own pieces
  passage  the memory's pieces together with its neighbours' (neighbour_queries.py): the reply and the
           question it answers, or two halves of an exchange, cover the query together

Storage: only content pieces are kept (not function words or punctuation, which the query drops
too), each as the signs of its vector's components: 48 bytes for MiniLM's 384 dimensions (float32
would be 1,536), about 700 bytes for a chat message of 36 pieces (14 of them content), 70 MB per
100k memories. The query keeps float vectors; its piece against a stored piece scores the cosine
of the float vector with the sign vector. The signs ranked within 0.005 recall@10 of float32
vectors in the LoCoMo development runs (docs/retrieval.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.memory.text import STOPWORDS
from core.onnx_bert import TokenVectors

__all__ = ["Matches", "best_matches", "pack", "query_pieces"]


def _content(pieces: Sequence[str]) -> list[int]:
    """Positions of the pieces that carry content: not function words, not punctuation."""
    return [
        i
        for i, piece in enumerate(pieces)
        if piece not in STOPWORDS and any(character.isalnum() for character in piece)
    ]


def pack(tokens: TokenVectors) -> bytes:
    """The signs of a text's content piece vectors, one row of dimension/8 bytes per piece.
    Function words and punctuation (three pieces in five of a chat message) are left out: the
    query's are too, and keeping them bought 0.005 recall@10 for 2.5 times the work."""
    keep = _content(tokens.pieces)
    if not keep:
        return b""
    return np.packbits(tokens.vectors[keep] > 0, axis=1).tobytes()


def query_pieces(tokens: TokenVectors) -> np.ndarray:
    """The unit vectors of the query's content pieces: function words and punctuation say little
    about what is asked, and would match every memory. All pieces when nothing else is left."""
    keep = _content(tokens.pieces)
    vectors = tokens.vectors[keep] if keep else tokens.vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def best_matches(query: np.ndarray, stored: Mapping[str, bytes]) -> Matches:
    """For each memory with pieces, the best cosine of each query piece (a row of `query`, unit
    length) among its pieces; stored pieces have the query's dimension."""
    dimension = query.shape[1]
    width = dimension // 8
    ids = [memory_id for memory_id, blob in stored.items() if blob and width and len(blob) % width == 0]
    if dimension % 8 or not len(query) or not ids:
        return Matches([], np.zeros((0, len(query)), dtype=np.float32))
    counts = np.array([len(stored[memory_id]) // width for memory_id in ids])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    raw = np.frombuffer(b"".join(stored[memory_id] for memory_id in ids), dtype=np.uint8)
    bits = np.unpackbits(raw.reshape(-1, width), axis=1).astype(np.float32)
    # A stored piece is the sign vector s = 2b - 1 (b the bits) over sqrt(dimension), so
    # q . s = (2 q . b - sum q) / sqrt(dimension): one product with the bits as they unpack.
    similarity = (2.0 * (query @ bits.T) - query.sum(axis=1, keepdims=True)) / np.float32(np.sqrt(dimension))
    return Matches(ids, np.maximum.reduceat(similarity, starts, axis=1).T)


@dataclass(frozen=True)
class Matches:
    """The best match of each query piece (columns) in each memory (rows of `best`)."""

    ids: list[str]
    best: np.ndarray

    def tokens(self) -> dict[str, float]:
        """How much of the query each memory covers by itself: its mean best match."""
        return dict(zip(self.ids, self.best.mean(axis=1).tolist(), strict=True))

    def passage(self, links: Mapping[str, Sequence[str]]) -> dict[str, float]:
        """How much of the query each memory covers together with its neighbours: for each query
        piece the best match in any of them, averaged."""
        row = {memory_id: index for index, memory_id in enumerate(self.ids)}
        pairs = [
            (row[memory_id], row[other])
            for memory_id, others in links.items()
            if memory_id in row
            for other in others
            if other in row
        ]
        together = self.best.copy()
        if pairs:
            into, source = np.array(pairs).T
            np.maximum.at(together, into, self.best[source])
        return dict(zip(self.ids, together.mean(axis=1).tolist(), strict=True))
