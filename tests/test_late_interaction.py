"""Word-piece ranking (core/memory/late.py) through real MCP sessions, the real offline model and
real SQLite: what it adds to a search, and how its stored pieces are kept in step with memories."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from mcp import Client

from core.config import Settings
from core.embeddings import load_embedder
from core.memory import late
from core.memory.index_repository import _MISSING
from persona_mcp import build_server
from tests.conftest import call
from tests.ollama_standin import run_standin
from tests.store_rows import rows, run

pytestmark = pytest.mark.anyio

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PIECE_BYTES = 384 // 8


def _pieces(settings: Settings) -> dict[str, tuple[str, bytes]]:
    """memory content -> (model, stored word-piece signs)."""
    found = rows(
        settings,
        "SELECT m.content, t.model_id, t.pieces FROM memory_tokens t JOIN memories m ON m.id = t.memory_id",
    )
    return {row[0]: (row[1], bytes(row[2])) for row in found}


async def test_every_result_shows_its_word_piece_components(client: Client) -> None:
    await call(
        client,
        "memory_store_batch",
        items=[
            {"content": "Caroline: Last week I painted a sunrise over the lake, and we adopted a kitten."},
            {"content": "Caroline: The lake was frozen all of January."},
            {"content": "Jon: My dance studio opens on Friday."},
        ],
    )
    result = await call(client, "memory_search", query="what did Caroline paint at the lake?", n_results=3)
    top = result["memories"][0]
    assert top["memory"]["content"].startswith("Caroline: Last week I painted")
    assert top["components"]["tokens"] == 1.0  # it covers the most of the question
    others = result["memories"][1:]
    assert all(0 <= hit["components"]["tokens"] < 1.0 for hit in others)
    dance = next(hit for hit in others if hit["memory"]["content"].startswith("Jon"))
    assert dance["components"]["tokens"] < top["components"]["tokens"] - 0.1


async def test_a_reply_is_credited_with_the_words_of_the_question_it_answers(client: Client) -> None:
    """The question names the occasion, the reply says what happened: together they cover the
    query, and a turn of another conversation that says the same as the reply does not."""
    ours = [
        "Mel: How was your holiday in the Dolomites in March?",
        "Caroline: Wonderful, we went hiking every single day.",
        "Mel: I am so jealous!",
    ]
    elsewhere = ["Jon: Are you still into sports?", "Gina: Yes, I went hiking every single day in summer."]
    items = [
        {"content": text, "conversation_id": "trip", "created_at": f"2023-03-20T10:00:0{i}Z"}
        for i, text in enumerate(ours)
    ] + [
        {"content": text, "conversation_id": "sports", "created_at": f"2023-08-02T09:00:0{i}Z"}
        for i, text in enumerate(elsewhere)
    ]
    await call(client, "memory_store_batch", items=items)
    result = await call(
        client, "memory_search", query="What did they do every day of the Dolomites holiday?", n_results=5
    )
    ranked = [hit["memory"]["content"] for hit in result["memories"]]
    by_text = {hit["memory"]["content"]: hit["components"] for hit in result["memories"]}
    assert ranked.index(ours[1]) < ranked.index(elsewhere[1])
    assert by_text[ours[1]]["passage"] > by_text[elsewhere[1]]["passage"]
    assert by_text[ours[1]]["passage"] > by_text[ours[1]]["tokens"]  # the question turn adds to it


async def test_word_pieces_are_stored_replaced_on_update_and_dropped_with_the_memory(
    client: Client, settings: Settings
) -> None:
    stored = await call(client, "memory_store", content="We planted three apple trees by the fence.")
    memory_id = stored["memory"]["id"]
    pieces = _pieces(settings)
    model, blob = pieces["We planted three apple trees by the fence."]
    assert model == MODEL
    assert len(blob) == 5 * PIECE_BYTES  # planted three apple trees fence: the content pieces

    await call(client, "memory_update", memory_id=memory_id, content="We planted a pear tree.")
    pieces = _pieces(settings)
    assert set(pieces) == {"We planted a pear tree."}
    assert len(pieces["We planted a pear tree."][1]) == 3 * PIECE_BYTES
    top = (await call(client, "memory_search", query="pear tree", n_results=1))["memories"][0]
    assert top["components"]["tokens"] == 1.0

    await call(client, "memory_delete", memory_id=memory_id, hard=True)
    assert _pieces(settings) == {}


async def test_memories_stored_before_word_pieces_get_them_without_re_indexing(settings: Settings) -> None:
    notes = ["The boiler was serviced in October.", "Aunt Ruth visits every second Sunday."]
    async with Client(build_server(settings)) as client:
        await call(client, "memory_store_batch", items=[{"content": text} for text in notes])
        await call(client, "memory_reindex")
    run(settings, "DELETE FROM memory_tokens")  # as a version 5 database left them
    run(settings, "UPDATE memories SET token_model = NULL")
    indexed = dict(rows(settings, "SELECT id, indexed_at FROM memories"))
    assert None not in indexed.values()

    async with Client(build_server(settings)) as client:
        report = await call(client, "memory_reindex")
        assert report["embedded"] == 0  # the vectors were current: only the pieces were added
        top = (await call(client, "memory_search", query="when is the boiler serviced", n_results=1))[
            "memories"
        ]
        assert top[0]["components"]["tokens"] == 1.0
    assert {content: model for content, (model, _) in _pieces(settings).items()} == {
        text: MODEL for text in notes
    }
    assert dict(rows(settings, "SELECT id, indexed_at FROM memories")) == indexed


async def test_an_embedder_without_word_pieces_ranks_without_them(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await call(client, "memory_store", content="The spare key is under the blue flower pot.")
    with run_standin({"nomic-embed-text": 24}) as ollama:
        other = settings.model_copy(update={"embedder": "ollama", "ollama_host": ollama.url})
        async with Client(build_server(other)) as client:
            await call(client, "memory_reindex")
            assert _pieces(settings) == {}  # MiniLM's pieces went with its vectors
            stats = await call(client, "memory_stats")
            assert stats["unembedded"] == 0
            result = await call(client, "memory_search", query="where is the spare key?")
            assert result["semantic"] is True
            components = result["memories"][0]["components"]
            assert components["tokens"] == 0
            assert components["passage"] == 0
            assert components["lexical"] == 1.0
            # nothing is re-embedded over and over for want of pieces the model cannot give
            calls = len([path for path, _ in ollama.requests if path == "/api/embed"])
            await call(client, "memory_reindex")
            assert len([path for path, _ in ollama.requests if path == "/api/embed"]) == calls


async def test_the_signs_of_a_piece_keep_it_closest_to_itself() -> None:
    """Stored as signs, each piece of a text still matches its own float vector best."""
    choice = await load_embedder("sentence-transformers", None, "")
    found = await choice.embedder.embed_tokens(
        ["The violin teacher moved to Lisbon.", "Quarterly taxes are due soon."]
    )
    assert found is not None
    _, (violin, taxes) = found
    assert violin.pieces[:3] == ["the", "violin", "teacher"]
    query = late.query_pieces(violin)
    assert len(query) == len(violin.pieces) - 3  # "the", "to" and "." say nothing
    matches = late.best_matches(query, {"violin": late.pack(violin), "taxes": late.pack(taxes)})
    scores = matches.tokens()
    assert scores["violin"] > scores["taxes"] + 0.2
    signs = np.unpackbits(np.frombuffer(late.pack(violin), np.uint8).reshape(-1, PIECE_BYTES), axis=1)
    assert signs.shape == (len(query), 384)  # the same content pieces are stored


@pytest.mark.sqlite_only
async def test_the_catch_up_finds_missing_vectors_and_pieces_through_indexes(
    client: Client, settings: Settings
) -> None:
    """It asks after every write: a scan of every memory cost 80 ms at 100k memories."""
    await call(client, "memory_store", content="An index is cheaper than a scan.")
    with sqlite3.connect(settings.database_path) as db:
        for condition in _MISSING.values():
            plan = db.execute(
                f"EXPLAIN QUERY PLAN SELECT count(*) FROM memories WHERE {condition}", (MODEL, MODEL)
            )
            details = [row[3] for row in plan.fetchall()]
            assert not any(detail.startswith("SCAN memories") for detail in details), details
