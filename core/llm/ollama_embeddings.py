"""Embeddings from an Ollama server (/api/embed), in batches, retried while Ollama is busy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import httpx
import numpy as np

from core.errors import Unavailable
from core.llm.chat import RETRYABLE_STATUS
from core.onnx_bert import TokenVectors

if TYPE_CHECKING:  # imported where used: the library costs start-up time
    import ollama

__all__ = ["DEFAULT_OLLAMA_EMBEDDING_MODEL", "PROBE_TEXT", "OllamaEmbedder", "load_ollama_embedder"]

DEFAULT_OLLAMA_EMBEDDING_MODEL = "nomic-embed-text"
PROBE_TEXT = "dimension probe"
_BATCH_SIZE = 64
_OLLAMA_TIMEOUT_S = 30.0


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    """The texts in consecutive slices of at most `size`, in order."""
    return [list(texts[start : start + size]) for start in range(0, len(texts), size)]


@dataclass
class OllamaEmbedder:
    """Embeddings from an Ollama server's /api/embed."""

    model_id: str
    dimension: int
    model: str
    client: ollama.AsyncClient
    host: str = ""
    batch_size: int = _BATCH_SIZE
    retries: int = 3
    backoff: float = 0.2

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Send the texts in batches; Ollama returns one vector per input."""
        vectors: list[Sequence[float]] = []
        for batch in _batches(texts, self.batch_size):
            vectors.extend(await self._embed_batch(batch))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    @property
    def word_pieces(self) -> bool:
        return False  # Ollama's API returns pooled vectors only

    async def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]] | None:
        return None

    async def _embed_batch(self, batch: list[str]) -> Sequence[Sequence[float]]:
        """One request, retried with backoff when Ollama is busy or drops the connection."""
        import ollama

        for attempt in range(self.retries + 1):
            try:
                return (await self.client.embed(model=self.model, input=batch)).embeddings
            except ollama.ResponseError as exc:
                if exc.status_code not in RETRYABLE_STATUS:
                    raise Unavailable(
                        f"Ollama at {self.host} refused to embed with {self.model} "
                        f"(HTTP {exc.status_code}: {exc.error})."
                    ) from None
                why = f"HTTP {exc.status_code}"
            except (ConnectionError, OSError, httpx.TransportError) as exc:
                why = type(exc).__name__
            if attempt < self.retries:
                await anyio.sleep(self.backoff * 2**attempt)
        raise Unavailable(
            f"Ollama at {self.host} did not return embeddings after {self.retries + 1} tries ({why}). "
            "Check that `ollama serve` is running, then call again."
        )


async def load_ollama_embedder(model: str | None, host: str) -> OllamaEmbedder:
    """Ollama's embedding model `model` (default nomic-embed-text), probed once for its dimension."""
    import ollama

    name = model or DEFAULT_OLLAMA_EMBEDDING_MODEL
    client = ollama.AsyncClient(host=host, timeout=_OLLAMA_TIMEOUT_S)
    try:
        probe = await client.embed(model=name, input=[PROBE_TEXT])
    except ollama.ResponseError as exc:
        raise Unavailable(
            f"Ollama at {host} cannot embed with {name!r}: {exc.error}. Run `ollama pull {name}`"
        ) from None
    except (ConnectionError, OSError) as exc:
        raise Unavailable(
            f"Ollama is not reachable at {host} ({type(exc).__name__}); start it with `ollama serve`"
        ) from None
    return OllamaEmbedder(f"ollama/{name}", len(probe.embeddings[0]), name, client, host)
