"""Changing the embedding model re-embeds and reindexes; with no embedder at all, memories are
still stored and found by their words."""

from __future__ import annotations

import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call
from tests.ollama_standin import run_standin
from tests.store_rows import rows

pytestmark = pytest.mark.anyio

NOTES = [
    "The violin lesson moved to Thursday evenings.",
    "Grandma's soup recipe needs two bay leaves.",
    "The bike chain snapped on the hill near the bakery.",
]


def _vector_models(settings: Settings) -> set[tuple[str, int]]:
    return set(rows(settings, "SELECT model_id, count(*) FROM memory_vectors GROUP BY model_id"))


async def test_changing_the_embedding_model_reembeds_and_never_mixes_vectors(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await call(client, "memory_store_batch", items=[{"content": text} for text in NOTES])
    assert _vector_models(settings) == {("sentence-transformers/all-MiniLM-L6-v2", 3)}

    with run_standin({"nomic-embed-text": 24}) as ollama:
        other = settings.model_copy(update={"embedder": "ollama", "ollama_host": ollama.url})
        async with Client(build_server(other)) as client:
            report = await call(client, "memory_reindex")
            assert report["embedding_model"] == "ollama/nomic-embed-text"
            stats = await call(client, "memory_stats")
            assert stats["embedding_model"] == "ollama/nomic-embed-text"
            assert stats["unembedded"] == 0
            assert stats["index_lag"] == 0
            result = await call(client, "memory_search", query="bay leaves soup")
            assert result["semantic"] is True
            assert result["memories"][0]["memory"]["content"] == NOTES[1]
            embedded = [body for path, body in ollama.requests if path == "/api/embed"]
            assert any(NOTES[0] in body["input"] for body in embedded)
    assert _vector_models(settings) == {("ollama/nomic-embed-text", 3)}

    async with Client(build_server(settings)) as client:
        await call(client, "memory_reindex")
        top = (await call(client, "memory_search", query="bicycle repair", n_results=1))["memories"][0]
        assert top["memory"]["content"] == NOTES[2]
    assert _vector_models(settings) == {("sentence-transformers/all-MiniLM-L6-v2", 3)}


async def test_without_any_embedder_memories_are_stored_and_found_by_words(settings: Settings) -> None:
    offline = settings.model_copy(update={"embedder": "ollama", "ollama_host": "http://127.0.0.1:9"})
    async with Client(build_server(offline)) as client:
        stored = await call(client, "memory_store", content=NOTES[0])
        assert stored["memory"]["embedding_model"] is None
        result = await call(client, "memory_search", query="violin lesson")
        assert result["semantic"] is False
        assert result["memories"][0]["memory"]["id"] == stored["memory"]["id"]
        status = await call(client, "system_status")
        assert "not reachable" in status["embedder"]["error"]
        assert status["embedder"]["model_id"] is None
    async with Client(build_server(settings)) as client:  # an embedder again: the memory gets its vector
        await call(client, "memory_reindex")
        stats = await call(client, "memory_stats")
        assert stats["unembedded"] == 0
        assert stats["index_lag"] == 0
        assert (await call(client, "memory_search", query="music class"))["semantic"] is True
