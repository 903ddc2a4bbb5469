"""Two `persona-mcp` processes sharing one data folder store and search at the same time."""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import call
from tests.processes import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

_WORDS = [
    "amber",
    "basalt",
    "cedar",
    "dune",
    "ember",
    "fjord",
    "garnet",
    "heron",
    "iris",
    "juniper",
    "kelp",
    "lotus",
    "marble",
    "nectar",
    "onyx",
    "pebble",
    "quartz",
    "raven",
    "saffron",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "yarrow",
    "zephyr",
]


def _notes(process: int, count: int) -> list[str]:
    rng = random.Random(process)
    return [
        f"Worker {process} entry {i}: {' '.join(rng.sample(_WORDS, 5))} near the {rng.choice(_WORDS)} gate."
        for i in range(count)
    ]


async def _worker(data_dir: Path, process: int, stored: dict[int, set[str]]) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "persona_mcp"], env=server_env(data_dir)
    )
    async with Client(params) as client:
        notes = _notes(process, 60)
        ids: set[str] = set()
        for start in range(0, 40, 20):
            batch = [{"content": text} for text in notes[start : start + 20]]
            ids |= set((await call(client, "memory_store_batch", items=batch))["ids"])
            await call(client, "memory_search", query=notes[start], n_results=5)
        for text in notes[40:]:
            ids.add((await call(client, "memory_store", content=text))["memory"]["id"])
        stored[process] = ids
        # Everything this process stored is searchable here at once, index owner or not.
        found = await call(client, "memory_search", query=f"Worker {process} entry", n_results=100)
        assert len(ids - {hit["memory"]["id"] for hit in found["memories"]}) < len(ids) // 2


async def test_two_processes_store_and_search_at_once_without_loss(data_dir: Path) -> None:
    stored: dict[int, set[str]] = {}
    async with anyio.create_task_group() as group:
        group.start_soon(_worker, data_dir, 1, stored)
        group.start_soon(_worker, data_dir, 2, stored)
    everything = stored[1] | stored[2]
    assert len(everything) >= 100  # a few notes may merge as near-duplicates, never vanish

    with sqlite3.connect(data_dir / "persona.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {row[0] for row in db.execute("SELECT id FROM memories WHERE archived_at IS NULL")}
        assert rows == everything
        assert db.execute("SELECT count(*) FROM memory_vectors").fetchone()[0] == len(everything)

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "persona_mcp"], env=server_env(data_dir)
    )
    async with Client(params) as client:
        report = await call(client, "memory_reindex")
        assert report["orphans_removed"] == 0
        stats = await call(client, "memory_stats")
        assert stats["total"] == len(everything)
        assert stats["index_lag"] == 0
        for process in (1, 2):
            text = _notes(process, 60)[7]
            top = (await call(client, "memory_search", query=text, n_results=1))["memories"][0]
            assert top["memory"]["content"] == text
