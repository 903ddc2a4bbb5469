"""Embedding providers: the offline model for real, Ollama through its wire format."""

from __future__ import annotations

import math
import socket

import pytest

from core.embeddings import load_embedder
from core.errors import Unavailable
from tests.ollama_standin import fake_embedding, run_standin

pytestmark = pytest.mark.anyio

NO_OLLAMA = "http://127.0.0.1:9"


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_auto_uses_the_offline_minilm_and_embeds_meaningfully() -> None:
    choice = await load_embedder("auto", None, NO_OLLAMA)
    assert choice.provider == "sentence-transformers"
    assert choice.embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert choice.embedder.dimension == 384
    cat, kitten, stocks = await choice.embedder.embed(
        ["The cat sleeps on the sofa.", "A kitten naps on the couch.", "Stock markets fell sharply today."]
    )
    assert math.isclose(math.sqrt(sum(x * x for x in cat)), 1.0, rel_tol=1e-3)
    assert _cosine(cat, kitten) > _cosine(cat, stocks) + 0.3


async def test_batches_keep_order_and_match_single_embeddings() -> None:
    embedder = (await load_embedder("sentence-transformers", None, NO_OLLAMA)).embedder
    texts = [f"memory number {i} about topic {i % 7}" for i in range(130)]  # three batches
    vectors = await embedder.embed(texts)
    assert len(vectors) == 130
    for index in (0, 64, 129):
        (alone,) = await embedder.embed([texts[index]])
        assert _cosine(alone, vectors[index]) > 0.9999


async def test_a_model_folder_that_does_not_exist_is_named_in_the_error() -> None:
    with pytest.raises(Unavailable, match="PERSONA_MCP_EMBEDDING_MODEL='/no/such/model' is not a folder"):
        await load_embedder("sentence-transformers", "/no/such/model", NO_OLLAMA)


async def test_ollama_embeddings_in_batches_through_the_real_client() -> None:
    with run_standin({"nomic-embed-text": 16}) as ollama:
        choice = await load_embedder("ollama", None, ollama.url)
        assert choice.embedder.model_id == "ollama/nomic-embed-text"
        assert choice.embedder.dimension == 16
        texts = [f"text {i}" for i in range(130)]
        vectors = await choice.embedder.embed(texts)
    assert vectors[5] == pytest.approx(fake_embedding("text 5", 16))
    embed_calls = [body for path, body in ollama.requests if path == "/api/embed"]
    assert [len(body["input"]) for body in embed_calls] == [1, 64, 64, 2]  # probe, then batches


async def test_ollama_without_the_model_says_which_model_to_pull() -> None:
    with run_standin({}) as ollama, pytest.raises(Unavailable, match="ollama pull nomic-embed-text"):
        await load_embedder("ollama", None, ollama.url)


async def test_unreachable_ollama_says_how_to_start_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(Unavailable, match=r"not reachable at http://127\.0\.0\.1:\d+ .*ollama serve"):
        await load_embedder("ollama", None, f"http://127.0.0.1:{closed_port}")


async def test_onnx_either_loads_or_explains_it_needs_a_download_once() -> None:
    try:
        choice = await load_embedder("onnx", None, NO_OLLAMA)
    except Unavailable as exc:  # the offline case (this project's CI)
        message = exc.message
    else:  # an online machine
        assert choice.embedder.model_id == "onnx/all-MiniLM-L6-v2"
        assert choice.embedder.dimension == 384
        return
    assert "needs the internet once" in message
