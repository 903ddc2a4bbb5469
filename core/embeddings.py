"""Embedders: text to vectors, batched and off the event loop.

Providers:
  sentence-transformers  a local model folder, or all-MiniLM-L6-v2 (core.minilm: from the
                         `[offline]` extra's package with no network at all, else fetched
                         from the Hugging Face Hub in the background on first use)
  onnx                   ChromaDB's built-in all-MiniLM-L6-v2 (downloads its model on first use)
  ollama                 an Ollama embedding model such as nomic-embed-text
`auto` takes the first that loads, in that order, and remembers why the others did not.

Each embedder's `model_id` names the provider and the model, so vectors of two models (even the
same weights run by two runtimes) are never mixed in one collection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import anyio
import anyio.to_thread
import numpy as np

from core import minilm, onnx_bert
from core.errors import Unavailable
from core.llm.ollama_embeddings import (
    DEFAULT_OLLAMA_EMBEDDING_MODEL,
    PROBE_TEXT,
    OllamaEmbedder,
    load_ollama_embedder,
)
from core.onnx_bert import TokenVectors

__all__ = [
    "DEFAULT_OLLAMA_EMBEDDING_MODEL",
    "PROVIDERS",
    "Embedder",
    "EmbedderChoice",
    "EmbedderSlot",
    "OllamaEmbedder",
    "ThreadedEmbedder",
    "load_embedder",
]

logger = logging.getLogger(__name__)

Provider = Literal["sentence-transformers", "onnx", "ollama"]
PROVIDERS: tuple[Provider, ...] = ("sentence-transformers", "onnx", "ollama")
# Batches large enough to keep the CPU busy, small enough that one call never holds the worker
# thread for more than a fraction of a second (MiniLM runs about 670 sentences/s on 2 cores).
_BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into fixed-size vectors."""

    @property
    def model_id(self) -> str:
        """Provider and model, e.g. 'sentence-transformers/all-MiniLM-L6-v2'."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    @property
    def word_pieces(self) -> bool:
        """Whether `embed_tokens` gives word-piece vectors."""
        ...

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row (float32) per text, in order."""
        ...

    async def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]] | None:
        """The rows of `embed` and each text's token vectors from the same pass; None when the
        model does not expose them (search then ranks without the token components)."""
        ...


def _by_length(texts: Sequence[str], size: int) -> list[list[int]]:
    """Positions of the texts in batches of similar length: a batch is padded to its longest
    text, so grouping long with long and short with short wastes the least work."""
    order = sorted(range(len(texts)), key=lambda position: len(texts[position]))
    return [order[start : start + size] for start in range(0, len(order), size)]


@dataclass
class ThreadedEmbedder:
    """A blocking batch encoder run on a worker thread, one batch at a time."""

    model_id: str
    dimension: int
    encode: Callable[[list[str]], np.ndarray]
    encode_tokens: Callable[[list[str]], tuple[np.ndarray, list[TokenVectors]]] | None = None
    batch_size: int = _BATCH_SIZE
    # The models are not safe to call from two threads at once; a thread lock (not an event-loop
    # lock) because one loaded model may serve several event loops in one process.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def word_pieces(self) -> bool:
        return self.encode_tokens is not None

    def _encode_locked(self, batch: list[str], tokens: bool) -> tuple[np.ndarray, list[TokenVectors]]:
        with self._lock:
            return self.encode_tokens(batch) if tokens and self.encode_tokens else (self.encode(batch), [])

    async def _run(self, texts: Sequence[str], tokens: bool) -> tuple[np.ndarray, list[TokenVectors]]:
        """Encode in batches of similar length; the event loop stays free while the model runs."""
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        found: dict[int, TokenVectors] = {}
        for positions in _by_length(texts, self.batch_size):
            batch = [texts[position] for position in positions]
            rows, pieces = await anyio.to_thread.run_sync(self._encode_locked, batch, tokens)
            vectors[positions] = rows
            found.update(zip(positions, pieces, strict=False))
        return vectors, [found[position] for position in sorted(found)]

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return (await self._run(texts, tokens=False))[0]

    async def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]] | None:
        """As `embed`, with each text's token vectors (None when the runtime has none)."""
        return await self._run(texts, tokens=True) if self.encode_tokens else None


@dataclass(frozen=True)
class EmbedderChoice:
    """What load_embedder picked, and why the providers before it were passed over."""

    embedder: Embedder
    provider: Provider
    skipped: dict[str, str]


# Loaded local models by folder: a process loads each model once, however many cores it opens.
_LOADED: dict[str | None, ThreadedEmbedder] = {}
_LOADING = threading.Lock()


async def _sentence_transformers(model_path: str | None, cache: Path | None) -> Embedder:
    def load_once() -> ThreadedEmbedder:
        with _LOADING:
            if model_path not in _LOADED:
                _LOADED[model_path] = load()
            return _LOADED[model_path]

    def load() -> ThreadedEmbedder:
        checked: str | None = None  # the weights' SHA-256, when they were checked here
        if model_path:
            path = Path(model_path).expanduser()
            if not path.is_dir():
                raise Unavailable(f"PERSONA_MCP_EMBEDDING_MODEL={str(path)!r} is not a folder")
        else:  # all-MiniLM-L6-v2, each file checked against the official one
            path, source = minilm.local_folder(cache or onnx_bert.default_cache_dir())
            checked = minilm.FILES["model.safetensors"][0]
            logger.info("all-MiniLM-L6-v2 from %s (%s), checked", source, path)
        name = "all-MiniLM-L6-v2" if model_path is None else path.name
        # The same vectors either way; ONNX Runtime needs neither torch nor its 400 MB.
        if onnx_bert.supports(path):
            model = _onnx_runtime(path, cache, checked)
            return ThreadedEmbedder(
                f"sentence-transformers/{name}", model.dimension, model.encode, model.encode_tokens
            )
        encode, dimension = _torch_runtime(path)
        return ThreadedEmbedder(f"sentence-transformers/{name}", dimension, encode)

    return await anyio.to_thread.run_sync(load_once)


Encode = Callable[[list[str]], np.ndarray]


def _onnx_runtime(path: Path, cache: Path | None, weights_sha256: str | None) -> onnx_bert.OnnxBert:
    """A BERT sentence-transformers folder run by ONNX Runtime (core.onnx_bert)."""
    try:
        return onnx_bert.OnnxBert(path, cache, weights_sha256)
    except ImportError as exc:
        raise Unavailable(
            f"{exc.name} is not installed, though persona-mcp depends on it: reinstall persona-mcp"
        ) from None


def _torch_runtime(path: Path) -> tuple[Encode, int]:
    """Any other sentence-transformers folder, run by sentence-transformers on torch."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise Unavailable(
            f"{path} is not a BERT model with mean pooling, which runs without torch; "
            "for other models pip install sentence-transformers torch"
        ) from None
    import torch

    model = SentenceTransformer(str(path), device="cpu")
    threads = torch.get_num_threads()
    # sentence-transformers 6 renamed tokenize to preprocess; 3-5 only have tokenize.
    preprocess = getattr(model, "preprocess", None) or model.tokenize

    def encode(batch: list[str]) -> np.ndarray:
        # One short text (a search query) runs faster on one thread than split across several.
        torch.set_num_threads(1 if len(batch) == 1 else threads)
        with torch.inference_mode():
            vectors = model(preprocess(batch))["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors, dim=1)
        return np.asarray(vectors.numpy(), dtype=np.float32)

    return encode, len(encode([PROBE_TEXT])[0])


async def _onnx(_: str | None) -> Embedder:
    def load() -> ThreadedEmbedder:
        try:
            from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

            function = DefaultEmbeddingFunction()
            probe = function([PROBE_TEXT])
        except Exception as exc:  # network, disk or onnxruntime failures: all mean "not usable here"
            raise Unavailable(
                f"ChromaDB's ONNX model could not be loaded ({type(exc).__name__}: {exc}); it downloads "
                "all-MiniLM-L6-v2 on first use, so it needs the internet once"
            ) from None

        def encode(batch: list[str]) -> np.ndarray:
            return np.asarray(function(batch), dtype=np.float32)

        return ThreadedEmbedder("onnx/all-MiniLM-L6-v2", len(probe[0]), encode)

    return await anyio.to_thread.run_sync(load)


async def load_embedder(
    provider: str, model: str | None, ollama_host: str, cache_dir: Path | None = None, fetch: bool = False
) -> EmbedderChoice:
    """Load the configured provider, or with 'auto' the first of PROVIDERS that works. Raises
    Unavailable with every provider's reason when none does. `cache_dir` holds built model graphs
    and checked model files (default: the user's cache folder). With `fetch`, no local copy of
    all-MiniLM-L6-v2 raises minilm.NotHere at once (the caller fetches it: the same model and
    vectors) rather than falling back to another model."""
    candidates: tuple[Provider, ...] = PROVIDERS if provider == "auto" else (provider,)  # type: ignore[assignment]
    skipped: dict[str, str] = {}
    for candidate in candidates:
        try:
            if candidate == "sentence-transformers":
                embedder = await _sentence_transformers(model, cache_dir)
            elif candidate == "onnx":
                embedder = await _onnx(model)
            else:
                # An explicit model under 'auto' names a sentence-transformers folder, not an Ollama model.
                embedder = await load_ollama_embedder(model if provider == "ollama" else None, ollama_host)
        except minilm.NotHere as exc:
            if fetch and candidate == "sentence-transformers" and model is None:
                raise
            skipped[candidate] = exc.message
            continue
        except Unavailable as exc:
            skipped[candidate] = exc.message
            logger.info("embedder %s unavailable: %s", candidate, exc.message)
            continue
        except Exception as exc:  # a broken model folder, too many open files, a library bug, ...
            skipped[candidate] = (
                f"failed to load ({type(exc).__name__}: {exc}); check the model folder "
                f"({model or 'the bundled all-MiniLM-L6-v2'}: its files may be damaged or incomplete) "
                "or reinstall it with pip install --force-reinstall 'persona-mcp[offline]'"
            )
            logger.warning("embedder %s failed to load", candidate, exc_info=True)
            continue
        return EmbedderChoice(embedder=embedder, provider=candidate, skipped=skipped)
    reasons = "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
    raise Unavailable(f"No embedding provider could be loaded. {reasons}.")


class EmbedderSlot:
    """The embedder, loaded in the background; callers wait for the first load to finish. When no
    embedder loads, memory search matches words, `error` says why, and `retry` (the background
    loop's, with backoff, or memory_reindex's) loads it once the cause is fixed. When
    all-MiniLM-L6-v2 has to come from the hub, the first load finishes at once (search matches
    words meanwhile) and `fetch` downloads it, with its progress in `download`."""

    def __init__(self) -> None:
        self._loaded = anyio.Event()
        self._loading = anyio.Lock()
        self._args: tuple[str, str | None, str, Path | None] | None = None
        self._fetch = False
        self.choice: EmbedderChoice | None = None
        self.error: str | None = None
        self.download: minilm.Download | None = None

    async def load(
        self,
        provider: str,
        model: str | None,
        ollama_host: str,
        cache_dir: Path | None = None,
        fetch: bool = False,
    ) -> None:
        """The first load. Never raises: any failure leaves word search and a reason. With
        `fetch`, a missing all-MiniLM-L6-v2 is left for `fetch` to download."""
        self._args = (provider, model, ollama_host, cache_dir)
        self._fetch = fetch
        try:
            await self._load()
        finally:
            self._loaded.set()

    async def retry(self) -> bool:
        """Load again when no embedder is loaded; whether one is loaded now."""
        if self._args is None:
            return False
        if self.choice is None:
            await self._load()
        return self.choice is not None

    async def fetch(self) -> bool:
        """Download all-MiniLM-L6-v2 when a load found no copy, then load it; whether an
        embedder is loaded now. False at once when nothing is waiting to be fetched."""
        progress = self.download
        if progress is None or progress.finished or progress.error or self._args is None:
            return False
        cache = self._args[3] or onnx_bert.default_cache_dir()
        logger.info(
            "fetching all-MiniLM-L6-v2 from %s (%.0f MB)", progress.endpoint, minilm.TOTAL_BYTES / 1e6
        )
        try:
            await anyio.to_thread.run_sync(minilm.download, cache, progress, abandon_on_cancel=True)
        except Unavailable as exc:
            progress.error = exc.message
            self.error = f"{exc.message} Memory search matches words only until the model is here."
            logger.warning("%s", self.error)
            return False
        return await self.retry()

    async def _load(self) -> None:
        assert self._args is not None
        async with self._loading:
            if self.choice is not None:
                return
            try:
                self.choice = await load_embedder(*self._args, fetch=self._fetch)
            except minilm.NotHere:
                self.download = minilm.Download(minilm.hub_endpoint())
                self.error = (
                    f"all-MiniLM-L6-v2 is being fetched from {self.download.endpoint} "
                    f"({minilm.TOTAL_BYTES / 1e6:.0f} MB, once); memory search matches words until it lands."
                )
                logger.info("%s", self.error)
                return
            except Exception as exc:  # Unavailable, or anything else: the server goes on without
                self.error = (
                    f"{exc.message if isinstance(exc, Unavailable) else f'{type(exc).__name__}: {exc}'} "
                    "Memory search matches words only until an embedder loads: fix the cause, then call "
                    "memory_reindex (it is also retried every few minutes)."
                )
                logger.warning("no embedder, memory search will match words only: %s", self.error)
                return
            self.error = None
            logger.info("embedder: %s", self.choice.embedder.model_id)

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    async def wait_loaded(self) -> None:
        """Return once loading has finished (whether or not an embedder could be loaded)."""
        await self._loaded.wait()

    async def get(self) -> Embedder | None:
        """The embedder, or None when none could be loaded."""
        await self.wait_loaded()
        return self.choice.embedder if self.choice else None
