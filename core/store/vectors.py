"""How an embedding vector is stored: float32, little-endian, as bytes.

`VectorBlob` is those bytes marked as a vector: SQLite stores it as the BLOB it is, and the
PostgreSQL adapter writes it into pgvector's `vector` columns (and reads those back as the same
bytes), so the repositories encode and decode vectors one way on either engine."""

from __future__ import annotations

import numpy as np

__all__ = ["VectorBlob", "decode_vector", "encode_vector"]


class VectorBlob(bytes):
    """float32 little-endian bytes of one vector."""

    __slots__ = ()


def encode_vector(vector: np.ndarray) -> VectorBlob:
    """float32 little-endian bytes."""
    return VectorBlob(np.asarray(vector, dtype="<f4").tobytes())


def decode_vector(blob: bytes) -> np.ndarray:
    """The vector written by encode_vector."""
    return np.frombuffer(blob, dtype="<f4")
