"""Several `persona-mcp serve --transport http` workers on one PostgreSQL database (issue 27): one
client writes through one worker while another reads through the other, with nothing lost and
no stale reads; kill -9 of a worker in a write burst loses no acknowledged write; one worker at
a time leads the background maintenance, and another takes over when it dies."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from core.store.postgres.database import LEAD_LOCK
from tests.conftest import call, new_pg_database
from tests.processes import ServerProcess, http_client, http_server

psycopg = pytest.importorskip("psycopg")
pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@contextmanager
def _workers(tmp_path: Path, url: str, count: int) -> Iterator[list[ServerProcess]]:
    env = {
        "PERSONA_MCP_DATABASE_URL": url,
        "PERSONA_MCP_DECAY_INTERVAL_SECONDS": "1",
        "PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0",  # the read-back asks for every acknowledged id
    }
    with ExitStack() as stack:
        yield [stack.enter_context(http_server(tmp_path / f"worker{i}", **env)) for i in range(count)]


def _leaders(url: str) -> int:
    """How many sessions hold the maintenance lock."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (LEAD_LOCK,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _eventually(check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait until `check()` holds: a state other processes reach (polled, as a client would)."""
    with anyio.fail_after(seconds):
        while not check():  # noqa: ASYNC110
            await anyio.sleep(0.2)


async def test_one_client_writes_through_one_worker_another_reads_through_the_other(
    tmp_path: Path, pg_cluster: str
) -> None:
    url = new_pg_database(pg_cluster, schema=False)  # the first workers to start make the schema
    with _workers(tmp_path, url, 2) as (first, second):
        async with http_client(first.url) as writer, http_client(second.url) as reader:
            await call(writer, "persona_create", name="Quill", description="A writing coach.")
            notes = [f"Quill's note {i}: the {word} chapter needs work." for i, word in enumerate(_WORDS)]
            stored = await call(
                writer, "memory_store_batch", items=[{"content": n, "persona_id": "quill"} for n in notes]
            )
            assert len(stored["ids"]) == len(notes)
            assert (await call(reader, "memory_stats", persona_id="quill"))["total"] == len(notes)
            found = await call(reader, "memory_search", query="the harbour chapter", persona_id="quill")
            assert "harbour" in found["memories"][0]["memory"]["content"]

            # A change through one worker is what the next call on the other sees.
            await call(
                writer, "persona_update", persona_id="quill", changes={"description": "An editor now."}
            )
            assert (await call(reader, "persona_get", persona_id="quill"))["description"] == "An editor now."
            await call(reader, "memory_delete", memory_id=stored["ids"][0])
            assert (await call(writer, "memory_stats", persona_id="quill"))["total"] == len(notes) - 1

            # The same text stored through both at once is stored once.
            same = {"content": "Quill drinks green tea.", "persona_id": "quill"}

            async def store(client: Client) -> None:
                await call(client, "memory_store", **same)

            async with anyio.create_task_group() as group:
                for client in (writer, reader):
                    group.start_soon(store, client)
            matches = await call(reader, "memory_search", query="green tea", persona_id="quill", n_results=5)
            assert sum(m["memory"]["content"] == same["content"] for m in matches["memories"]) == 1

        # Sessionless (2026-07-28): a principal's switch is one for every worker.
        async with http_client(first.url) as one, http_client(second.url) as two:
            assert (await call(one, "persona_switch", persona_id="quill"))["scope"] == "principal"
            assert (await call(two, "persona_list"))["active_id"] == "quill"
            await call(two, "persona_switch", persona_id="aria")
            assert (await call(one, "persona_list"))["active_id"] == "aria"

        # No Chroma in this mode: vectors live in PostgreSQL, and no worker keeps an index folder.
        assert not any((tmp_path / f"worker{i}" / "vectors").exists() for i in range(2))

        await _eventually(lambda: _leaders(url) == 1)


async def test_kill_9_of_a_worker_in_a_write_burst_loses_no_acknowledged_write(
    tmp_path: Path, pg_cluster: str
) -> None:
    url = new_pg_database(pg_cluster)
    acknowledged: list[str] = []
    with _workers(tmp_path, url, 2) as (doomed, survivor):
        await _eventually(lambda: _leaders(url) == 1)
        rng = random.Random(27)
        enough = anyio.Event()

        async def burst(client: Client) -> None:
            for batch in range(10_000):
                items = [
                    {
                        "content": f"burst {batch}.{i}: {rng.choice(_WORDS)} {rng.random():.6f}",
                        "persona_id": "aria",
                    }
                    for i in range(20)
                ]
                acknowledged.extend((await call(client, "memory_store_batch", items=items))["ids"])
                if len(acknowledged) >= 300:
                    enough.set()

        with doomed.lost_connections_expected():
            async with http_client(doomed.url) as client, anyio.create_task_group() as group:
                group.start_soon(burst, client)
                await enough.wait()
                doomed.kill()
                group.cancel_scope.cancel()

        async with http_client(survivor.url) as reader:
            for memory_id in acknowledged:
                assert (await call(reader, "memory_get", memory_id=memory_id))["id"] == memory_id
            stats = await call(reader, "memory_stats", persona_id="aria")
            assert stats["total"] >= len(set(acknowledged))  # near-duplicates share an id
        # The dead worker's lock went with its connections: the survivor leads now.
        await _eventually(lambda: _leaders(url) == 1)


_WORDS = [
    "amber", "basalt", "cedar", "dune", "ember", "fjord", "garnet", "harbour", "iris", "juniper",
    "kelp", "lotus", "marble", "nectar", "onyx", "pebble", "quartz", "raven", "saffron", "tundra",
]  # fmt: skip
