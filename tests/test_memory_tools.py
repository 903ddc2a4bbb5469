"""memory_* through real MCP client sessions over a real SQLite file, real ChromaDB and the real
offline embedding model."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from mcp import Client

from core.config import SearchWeights, Settings
from persona_mcp import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio

DOG = "I adopted a golden retriever named Biscuit last spring."


async def _ids(client: Client, query: str, **arguments: Any) -> list[str]:
    result = await call(client, "memory_search", query=query, **arguments)
    return [hit["memory"]["id"] for hit in result["memories"]]


async def test_store_round_trips_every_field(client: Client) -> None:
    stored = await call(
        client,
        "memory_store",
        content=DOG,
        persona_id="kira",
        kind="semantic",
        visibility="shared",
        importance=0.8,
        subject="Biscuit",
        source="user",
        conversation_id="conv-1",
        metadata={"tags": ["pet"], "nested": {"n": 1}},
        created_at="2023-05-07T13:56:00Z",
    )
    memory = stored["memory"]
    assert stored["duplicate_of"] is None
    fetched = await call(client, "memory_get", memory_id=memory["id"])
    assert fetched == memory
    assert fetched["persona_id"] == "kira"
    assert fetched["kind"] == "semantic"
    assert fetched["metadata"] == {"tags": ["pet"], "nested": {"n": 1}}
    assert fetched["created_at"].startswith("2023-05-07T13:56:00")
    assert fetched["subject"] == "Biscuit"
    assert fetched["source"] == "user"
    assert fetched["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"


async def test_exact_and_near_duplicates_reinforce_instead_of_copying(client: Client) -> None:
    first = (await call(client, "memory_store", content=DOG, importance=0.3))["memory"]
    exact = await call(
        client,
        "memory_store",
        content="  i ADOPTED a golden retriever named biscuit last spring. ",
        importance=0.9,
    )
    assert exact["duplicate_of"] == first["id"]
    assert exact["duplicate_reason"] == "exact"
    assert exact["memory"]["access_count"] == 1
    assert exact["memory"]["importance"] == 0.9
    near = await call(
        client, "memory_store", content="I adopted a golden retriever called Biscuit last spring."
    )
    assert near["duplicate_of"] == first["id"]
    assert near["duplicate_reason"] == "similar"
    assert near["similarity"] >= 0.95
    assert near["memory"]["access_count"] == 2
    assert near["memory"]["importance"] == 0.9
    other = await call(client, "memory_store", content="Biscuit hates thunderstorms and hides under the bed.")
    assert other["duplicate_of"] is None
    stats = await call(client, "memory_stats", persona_id="aria")
    assert stats["total"] == 2


async def test_a_batch_folds_its_own_near_duplicates_into_the_first_stored(client: Client) -> None:
    """A paraphrase of an earlier item of the same batch reinforces that item; a second paraphrase
    points at the item that was stored, never at the first paraphrase (which was not)."""
    result = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": DOG},
            {"content": "I adopted a golden retriever called Biscuit last spring."},
            {"content": "Biscuit hates thunderstorms and hides under the bed."},
            {"content": "Last spring I adopted a golden retriever named Biscuit."},
        ],
    )
    assert result["stored"] == 2
    first, _, storm, _ = result["ids"]
    assert result["duplicate_of"] == [None, first, None, first]
    assert result["ids"] == [first, first, storm, first]
    assert (await call(client, "memory_get", memory_id=first))["access_count"] == 2


async def test_store_batch_is_ordered_dedups_within_and_is_all_or_nothing(client: Client) -> None:
    result = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": "The lighthouse keeper taught me knots."},
            {"content": "Kira climbs every Sunday.", "persona_id": "kira"},
            {"content": "the lighthouse keeper taught me knots."},
        ],
    )
    assert result["stored"] == 2
    assert result["duplicates"] == 1
    assert result["ids"][2] == result["ids"][0]
    assert result["duplicate_of"] == [None, None, result["ids"][0]]
    assert (await call(client, "memory_get", memory_id=result["ids"][1]))["persona_id"] == "kira"
    before = (await call(client, "memory_stats"))["total"]
    error = await call_error(
        client,
        "memory_store_batch",
        items=[{"content": "A fine memory."}, {"content": "Another.", "persona_id": "nobody"}],
    )
    assert "nobody" in error
    assert "persona_id" in error
    assert (await call(client, "memory_stats"))["total"] == before


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"content": "   "}, "content"),
        ({"content": "x" * 32_001}, "content"),
        ({"content": "ok", "persona_id": "nobody"}, "nobody"),
        ({"content": "ok", "kind": "dream"}, "kind"),
        ({"content": "ok", "visibility": "secret"}, "visibility"),
        ({"content": "ok", "importance": 1.5}, "importance"),
        ({"content": "ok", "created_at": "2999-01-01T00:00:00Z"}, "created_at"),
        ({"content": "ok", "colour": "red"}, "colour"),
    ],
)
async def test_bad_store_input_is_a_clear_error_and_stores_nothing(
    client: Client, arguments: dict[str, Any], expected: str
) -> None:
    error = await call_error(client, "memory_store", **arguments)
    assert expected in error
    assert (await call(client, "memory_stats"))["total"] == 0


@pytest.mark.parametrize("n_results", [0, 101])
async def test_search_rejects_n_results_out_of_range(client: Client, n_results: int) -> None:
    error = await call_error(client, "memory_search", query="dog", n_results=n_results)
    assert "n_results" in error
    assert str(n_results) in error


async def test_search_ranks_by_meaning_and_words_and_reports_components(client: Client) -> None:
    await call(
        client,
        "memory_store_batch",
        items=[
            {"content": DOG},
            {"content": "The quarterly tax return is due on the fifteenth."},
            {"content": "My favourite band is Zyxoplasm, a Finnish jazz trio."},
        ],
    )
    by_meaning = await call(client, "memory_search", query="which canine pet do I have?", n_results=3)
    top = by_meaning["memories"][0]
    assert top["memory"]["content"] == DOG
    assert set(top["components"]) == {
        "semantic",
        "lexical",
        "importance",
        "recency",
        "context",
        "mood",
        "tokens",
        "passage",
        "subject",
        "when",
    }
    assert top["components"]["semantic"] > by_meaning["memories"][1]["components"]["semantic"]
    assert by_meaning["semantic"] is True
    by_word = await call(client, "memory_search", query="zyxoplasm", n_results=1)
    assert "Zyxoplasm" in by_word["memories"][0]["memory"]["content"]
    assert by_word["memories"][0]["components"]["lexical"] == 1.0
    scores = [hit["score"] for hit in by_meaning["memories"]]
    assert scores == sorted(scores, reverse=True)


async def test_a_query_naming_a_memorys_subject_ranks_it_higher(settings: Settings) -> None:
    """Asked what Caroline painted, what Caroline said gains on what Melanie said about painting
    (the `subject` weight); a subject of two words is named only by both."""
    first_of: dict[float, str] = {}
    for weight in (0.0, 1.0):
        weights = SearchWeights(subject=weight)
        async with Client(build_server(settings.model_copy(update={"search_weights": weights}))) as client:
            if not first_of:
                await call(
                    client,
                    "memory_store_batch",
                    items=[
                        {"content": "I paint every day: painting the lake at sunrise.", "subject": "Melanie"},
                        {"content": "Did a small study of horses in oils last week.", "subject": "Caroline"},
                        {"content": "My bike is blue.", "subject": "Lena Park"},
                    ],
                )
            named = await call(client, "memory_search", query="What did Caroline paint?", n_results=3)
            first_of[weight] = named["memories"][0]["memory"]["subject"]
            subjects = {hit["memory"]["subject"]: hit["components"]["subject"] for hit in named["memories"]}
            assert subjects == {"Melanie": 0.0, "Caroline": 1.0, "Lena Park": 0.0}
    # Melanie's memory matches the words better; the subject outweighs that when it counts.
    assert first_of == {0.0: "Melanie", 1.0: "Caroline"}
    async with Client(build_server(settings)) as client:
        unnamed = await call(client, "memory_search", query="Who painted a lake?", n_results=3)
        assert all(hit["components"]["subject"] == 0.0 for hit in unnamed["memories"])
        for query, named_or_not in (("Is Lena's bike blue?", 0.0), ("Is Lena Park's bike blue?", 1.0)):
            result = await call(client, "memory_search", query=query, n_results=3)
            bike = next(hit for hit in result["memories"] if hit["memory"]["subject"] == "Lena Park")
            assert bike["components"]["subject"] == named_or_not


async def test_search_filters_apply_before_ranking(client: Client) -> None:
    await call(
        client,
        "memory_store_batch",
        items=[
            {
                "content": "Old memory about sailing boats.",
                "created_at": "2020-01-01T00:00:00Z",
                "importance": 0.9,
            },
            {"content": "New memory about sailing boats.", "kind": "semantic", "importance": 0.2},
            {
                "content": "Middle memory about sailing boats.",
                "created_at": "2022-06-01T00:00:00Z",
                "kind": "procedural",
            },
        ],
    )

    async def contents(**filters: Any) -> set[str]:
        result = await call(client, "memory_search", query="sailing boats", **filters)
        return {hit["memory"]["content"].split()[0] for hit in result["memories"]}

    assert await contents() == {"Old", "New", "Middle"}
    assert await contents(kinds=["semantic", "procedural"]) == {"New", "Middle"}
    assert await contents(since="2021-01-01T00:00:00Z") == {"New", "Middle"}
    assert await contents(until="2021-01-01T00:00:00Z") == {"Old"}
    assert await contents(min_importance=0.6) == {"Old"}
    assert "since" in await call_error(
        client, "memory_search", query="x", since="2022-01-01T00:00:00Z", until="2021-01-01T00:00:00Z"
    )


async def test_neighbouring_turns_lend_context(client: Client) -> None:
    turns = [
        "Mel: What did you end up doing on Saturday?",
        "Caroline: I went to the pride parade with my friends.",
        "Mel: That sounds amazing!",
    ]
    await call(
        client,
        "memory_store_batch",
        items=[
            {"content": text, "conversation_id": "c1", "created_at": f"2023-05-07T10:00:0{i}Z"}
            for i, text in enumerate(turns)
        ],
    )
    result = await call(client, "memory_search", query="pride parade", n_results=3)
    by_text = {hit["memory"]["content"]: hit for hit in result["memories"]}
    assert by_text[turns[0]]["components"]["context"] > 0  # its reply matches
    assert by_text[turns[1]]["components"]["lexical"] == 1.0


async def test_memories_stored_one_after_another_lend_context_within_a_sitting(client: Client) -> None:
    """A host that stores each message with no conversation id: the store order is the turn order,
    within a sitting (memories stored more than an hour apart are not neighbours)."""
    turns = [
        "Mel: What did you end up doing on Saturday?",
        "Caroline: I went to the pride parade with my friends.",
        "Mel: That sounds amazing!",
    ]
    at = [f"2023-05-07T10:00:0{i}Z" for i in range(3)]
    items = [{"content": text, "created_at": when} for text, when in zip(turns, at, strict=True)]
    items.append({"content": "Caroline: Saturday I might go swimming.", "created_at": "2023-05-09T18:00:00Z"})
    await call(client, "memory_store_batch", items=items)
    result = await call(client, "memory_search", query="pride parade", n_results=4)
    by_text = {hit["memory"]["content"]: hit for hit in result["memories"]}
    assert by_text[turns[0]]["components"]["context"] > 0  # the next message stored matches
    assert by_text[turns[2]]["components"]["context"] > 0  # so does the one before it
    assert by_text[turns[1]]["components"]["lexical"] == 1.0
    later = by_text.get("Caroline: Saturday I might go swimming.")
    assert later is None or later["components"]["context"] == 0  # two days later: another sitting


async def test_update_archive_restore_and_hard_delete(client: Client) -> None:
    memory = (await call(client, "memory_store", content=DOG))["memory"]
    updated = await call(
        client,
        "memory_update",
        memory_id=memory["id"],
        content="I adopted a beagle named Pepper.",
        pinned=True,
    )
    assert updated["pinned"] is True
    assert "beagle" in updated["content"]
    assert await _ids(client, "beagle Pepper") == [memory["id"]]
    assert await _ids(client, "golden retriever Biscuit") == [memory["id"]]  # the only memory
    assert (await call(client, "memory_delete", memory_id=memory["id"]))["action"] == "archived"
    assert await _ids(client, "beagle Pepper") == []
    assert (await call(client, "memory_stats"))["archived"] == 1
    restored = await call(client, "memory_restore", memory_id=memory["id"])
    assert {k: v for k, v in restored.items() if k not in {"updated_at", "indexed"}} == {
        k: v for k, v in updated.items() if k not in {"updated_at", "indexed"}
    }
    assert await _ids(client, "beagle Pepper") == [memory["id"]]
    assert (await call(client, "memory_delete", memory_id=memory["id"], hard=True))["action"] == "purged"
    assert "memory_id" in await call_error(client, "memory_get", memory_id=memory["id"])


async def test_stats_and_shared_stats(client: Client) -> None:
    batch = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": "Tea ceremony etiquette matters.", "visibility": "shared", "subject": "tea"},
            {
                "content": "Tea grown on misty hillsides.",
                "visibility": "public",
                "subject": "tea",
                "persona_id": "kira",
            },
            {"content": "My private diary entry.", "kind": "reflective", "importance": 0.9},
        ],
    )
    stats = await call(client, "memory_stats")
    assert stats["total"] == 3
    assert stats["by_persona"] == {"aria": 2, "kira": 1}
    assert stats["by_visibility"] == {"private": 1, "public": 1, "shared": 1}
    importances = [(await call(client, "memory_get", memory_id=i))["importance"] for i in batch["ids"]]
    assert importances[2] == 0.9  # given, not scored
    assert stats["average_importance"] == pytest.approx(sum(importances) / 3, abs=1e-6)
    assert stats["unembedded"] == 0
    shared = await call(client, "memory_shared_stats")
    assert shared["by_persona"] == {"aria": {"shared": 1, "public": 0}, "kira": {"shared": 0, "public": 1}}
    assert shared["top_subjects"] == [{"subject": "tea", "count": 2}]
    assert shared["top_terms"][0] == {"term": "tea", "count": 2}
    assert "persona_id" in await call_error(client, "memory_stats", persona_id="ghost")


@pytest.mark.sqlite_only
async def test_reindex_sends_progress_and_rebuilds_a_deleted_index(settings: Settings) -> None:
    items = [{"content": f"Fact number {i}: the {i}th lantern is painted blue."} for i in range(40)]
    async with Client(build_server(settings)) as client:
        stored = len(set((await call(client, "memory_store_batch", items=items))["ids"]))
        await call(client, "memory_reindex")
    shutil.rmtree(settings.index_path)
    async with Client(build_server(settings)) as client:
        # Searching works at once: rows the index lacks are read from SQLite meanwhile.
        assert len(await _ids(client, "lantern painted blue", n_results=100)) == stored > 30
        updates: list[tuple[float, float | None, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            updates.append((done, total, message))

        result = await client.call_tool("memory_reindex", {}, progress_callback=progress)
        assert not result.is_error
        report = result.structured_content or {}
        stats = await call(client, "memory_stats")
        assert stats["index_lag"] == 0
        assert stats["total"] == stored
        assert report["orphans_removed"] == 0
        status = await call(client, "system_status")
        assert status["vector_index"]["owner"] is True
        assert status["vector_index"]["pending"] == 0
        assert status["embedder"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert updates
    assert updates[-1][:2] == (stored, stored)


async def test_unknown_memory_ids_are_clear_errors(client: Client) -> None:
    for tool in ("memory_get", "memory_restore", "memory_delete"):
        error = await call_error(client, tool, memory_id="nope")
        assert "memory_id" in error
        assert "'nope'" in error
    assert "memory_id" in await call_error(client, "memory_update", memory_id="nope", importance=0.2)


async def test_batch_item_repeating_an_item_that_repeats_a_stored_memory(client: Client) -> None:
    first = (await call(client, "memory_store", content=DOG))["memory"]["id"]
    result = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": "I adopted a golden retriever called Biscuit last spring."},  # near-duplicate of DOG
            {"content": "I adopted a golden retriever called Biscuit last spring."},  # exact repeat of item 0
        ],
    )
    assert result["ids"] == [first, first]
    assert result["stored"] == 0
    assert (await call(client, "memory_get", memory_id=first))["access_count"] == 2
