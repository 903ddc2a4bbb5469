"""Faults against real `persona-mcp` processes over HTTP: kill -9 in the middle of writing and of
pruning, the vector index deleted under a running server, a full disk, and 50 clients at once.
After each, every write the server acknowledged is there and SQLite's integrity check passes.

Embeddings come from the Ollama stand-in (allowed: it speaks Ollama's wire format), so each
server starts in a second or two instead of loading a model."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from core.vector_index import VectorIndex
from tests.conftest import call
from tests.ollama_standin import OllamaStandIn, run_standin
from tests.processes import ServerProcess, http_client, http_server
from tests.test_lifecycle_kill import MEMORIES, build_weak_memories

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

EMBEDDER = "nomic-embed-text"
_WORDS = [
    "river",
    "lantern",
    "maple",
    "copper",
    "violin",
    "harbor",
    "pepper",
    "meadow",
    "glacier",
    "falcon",
    "orchid",
    "canyon",
]


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    with run_standin(embedding_models={EMBEDDER: 64}) as standin:
        yield standin


def _env(ollama: OllamaStandIn, **extra: str) -> dict[str, str]:
    return {
        "OLLAMA_HOST": ollama.url,
        "PERSONA_MCP_EMBEDDER": "ollama",
        "PERSONA_MCP_EMBEDDING_MODEL": EMBEDDER,
        "PERSONA_MCP_INDEX_SYNC_SECONDS": "0.2",
        "PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0",  # every client here is 127.0.0.1: no flood to stop
        "PERSONA_MCP_HTTP_MAX_CONNECTIONS_PER_CLIENT": "0",
        **extra,
    }


def _note(rng: random.Random, tag: str) -> str:
    return f"{tag}: {' '.join(rng.sample(_WORDS, 6))} {rng.randrange(10**9)}"


def _check(database: Path) -> tuple[str, set[str]]:
    """SQLite's verdict on the file, and the ids of every memory in it (live or archived)."""
    with sqlite3.connect(database) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        ids = {row[0] for row in db.execute("SELECT id FROM memories")}
    return str(integrity), ids


async def _kill_while_storing(server: ServerProcess, acknowledged: list[str], after: int) -> bool:
    """Store batches until `after` memories are acknowledged, then kill -9 the server while a batch
    is in flight. Returns whether one was."""
    rng = random.Random(after)
    in_flight = False
    enough = anyio.Event()

    async def writer(client: Client) -> None:
        nonlocal in_flight
        for batch in range(100_000):
            items = [{"content": _note(rng, f"note {batch}.{i}"), "persona_id": "aria"} for i in range(20)]
            in_flight = True
            result = await call(client, "memory_store_batch", items=items)
            in_flight = False
            acknowledged.extend(result["ids"])
            if len(acknowledged) >= after:
                enough.set()

    was_in_flight = False
    with server.lost_connections_expected():
        async with http_client(server.url) as client, anyio.create_task_group() as group:
            group.start_soon(writer, client)
            await enough.wait()
            await anyio.sleep(rng.uniform(0.0, 0.05))
            was_in_flight = in_flight
            server.kill()
            group.cancel_scope.cancel()
    return was_in_flight


async def test_kill_9_during_store_batch_loses_no_acknowledged_write(
    data_dir: Path, ollama: OllamaStandIn
) -> None:
    acknowledged: list[str] = []
    kills_in_flight = 0
    for round_ in range(3):
        with http_server(data_dir, **_env(ollama)) as server:
            kills_in_flight += await _kill_while_storing(server, acknowledged, len(acknowledged) + 200)
        integrity, ids = _check(data_dir / "persona.db")
        assert integrity == "ok"
        assert set(acknowledged) <= ids, f"round {round_}: {len(set(acknowledged) - ids)} acknowledged lost"
    assert kills_in_flight >= 2  # the kills landed in the middle of a batch, not between them

    with http_server(data_dir, **_env(ollama)) as server:
        async with http_client(server.url) as client:
            for memory_id in random.Random(0).sample(acknowledged, 20):
                assert (await call(client, "memory_get", memory_id=memory_id))["id"] == memory_id
            last = await call(client, "memory_get", memory_id=acknowledged[-1])
            found = await call(client, "memory_search", query=last["content"], persona_id="aria", n_results=3)
            assert found["memories"][0]["memory"]["id"] == acknowledged[-1]


@pytest.fixture(scope="module")
def weak_memories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("weak") / "data"
    anyio.run(build_weak_memories, template)
    return template


async def _prune_and_kill(server: ServerProcess, kill_after: float | None) -> float:
    """Ask the server to prune everything prunable; kill -9 it `kill_after` seconds later (None:
    let it finish). Returns the seconds the call ran."""
    started = time.monotonic()
    with server.lost_connections_expected():
        async with http_client(server.url) as client, anyio.create_task_group() as group:

            async def prune() -> None:
                result = await call(client, "memory_prune", persona_id="bulk", max_fraction=1.0)
                assert result["pruned_count"] == MEMORIES
                assert len(result["pruned"]) == 100  # listed: the default limit

            group.start_soon(prune)
            if kill_after is not None:
                await anyio.sleep(kill_after)
                server.kill()
                group.cancel_scope.cancel()
    return time.monotonic() - started


def _archived(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM memories WHERE archived_at IS NOT NULL").fetchone()[0])


async def test_kill_9_during_prune_leaves_the_old_or_the_new_state(
    weak_memories: Path, tmp_path: Path, ollama: OllamaStandIn
) -> None:
    env = _env(
        ollama, PERSONA_MCP_PRUNE_MIN_KEEP="0", PERSONA_MCP_PRUNE_OVER="0", PERSONA_MCP_DECAY_ENABLED="0"
    )

    def fresh(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(weak_memories, folder)
        return folder

    whole = fresh("whole")
    with http_server(whole, **env) as server:
        duration = await _prune_and_kill(server, None)
    assert _archived(whole / "persona.db") == MEMORIES

    outcomes = []
    for step in range(4):  # kills spread over the first half of a whole prune (the rest is the reply)
        folder = fresh(f"kill{step}")
        with http_server(folder, **env) as server:
            async with http_client(server.url) as client:
                kept = await call(
                    client, "memory_store", content="Acknowledged just before the prune", persona_id="bulk"
                )
            await _prune_and_kill(server, duration * step / 8)
        integrity, ids = _check(folder / "persona.db")
        assert integrity == "ok"
        assert kept["memory"]["id"] in ids
        archived = _archived(folder / "persona.db")
        assert archived in (0, MEMORIES), f"half a prune survived a kill: {archived} archived"
        outcomes.append(archived)
        with http_server(folder, **env) as server:  # and the server starts again on what is left
            async with http_client(server.url) as client:
                assert (await call(client, "memory_get", memory_id=kept["memory"]["id"]))[
                    "content"
                ].startswith("Acknowledged")
    assert 0 in outcomes
    print(f"prune of {MEMORIES} through the server: {duration:.2f}s; archived after kills: {outcomes}")


async def _wait_caught_up(client: Client) -> dict[str, Any]:
    """system_status once the vector index holds every live memory (within 30 s)."""
    with anyio.fail_after(30):
        while True:
            index = (await call(client, "system_status"))["vector_index"]
            if index["owner"] and index["pending"] == 0 and index["unembedded"] == 0:
                return dict(index)
            await anyio.sleep(0.2)


async def _store_notes(client: Client, rng: random.Random, count: int, tag: str) -> dict[str, str]:
    stored: dict[str, str] = {}
    for start in range(0, count, 50):
        items = [
            {"content": _note(rng, f"{tag} {i}"), "persona_id": "aria"} for i in range(start, start + 50)
        ]
        result = await call(client, "memory_store_batch", items=items)
        stored.update(zip(result["ids"], (item["content"] for item in items), strict=True))
    return stored


async def _found_by_meaning(client: Client, memory_id: str, content: str) -> bool:
    """Searching for a memory's exact words ranks it first, with its vector found (semantic 1)."""
    result = await call(client, "memory_search", query=content, persona_id="aria", n_results=3)
    top = result["memories"][0]
    return (
        bool(result["semantic"]) and top["memory"]["id"] == memory_id and top["components"]["semantic"] > 0.99
    )


def _indexed_vectors(index_path: Path, model_id: str) -> int:
    """Entries in the persona's collection of the local Chroma folder (with the server stopped)."""
    index = VectorIndex.open(index_path, model_id)
    try:
        return index.count("aria")
    finally:
        index.close()


async def test_deleting_the_vector_index_while_running_loses_no_search(
    data_dir: Path, ollama: OllamaStandIn
) -> None:
    rng = random.Random(7)
    with http_server(data_dir, **_env(ollama)) as server:
        async with http_client(server.url) as client:
            before = await _store_notes(client, rng, 300, "before")
            await _wait_caught_up(client)
            shutil.rmtree(data_dir / "vectors")
            for memory_id, content in rng.sample(sorted(before.items()), 10):
                assert await _found_by_meaning(client, memory_id, content)
            after = await _store_notes(client, rng, 100, "after")
            for memory_id, content in rng.sample(sorted(after.items()), 10):
                assert await _found_by_meaning(client, memory_id, content)
            await _wait_caught_up(client)  # the index was reopened and rebuilt without a restart:
            report = await call(client, "memory_reindex", persona_id="aria")
            assert (report["indexed"], report["orphans_removed"]) == (0, 0)  # nothing was missing
    with http_server(data_dir, **_env(ollama)) as server:  # a restart rebuilds what was deleted
        async with http_client(server.url) as client:
            await _wait_caught_up(client)
            model_id = (await call(client, "system_status"))["embedder"]["model_id"]
            everything = {**before, **after}
            for memory_id, content in rng.sample(sorted(everything.items()), 20):
                assert await _found_by_meaning(client, memory_id, content)
    assert _indexed_vectors(data_dir / "vectors", model_id) == len(everything)


CLIENTS = 50
SECONDS = 30.0


async def test_50_clients_storing_and_searching_for_30_s_lose_nothing(
    data_dir: Path, tmp_path: Path, ollama: OllamaStandIn
) -> None:
    stored: dict[str, str] = {}
    failures: list[str] = []
    calls = 0

    async def client_loop(number: int, server: ServerProcess, until: float) -> None:
        nonlocal calls
        rng = random.Random(number)
        async with http_client(server.url) as client:
            mine: list[tuple[str, str]] = []
            while time.monotonic() < until:
                if not mine or rng.random() < 0.5:
                    content = _note(rng, f"client {number}")
                    result = await client.call_tool(
                        "memory_store", {"content": content, "persona_id": "aria"}
                    )
                else:
                    memory_id, content = rng.choice(mine)
                    result = await client.call_tool(
                        "memory_search", {"query": content, "persona_id": "aria", "n_results": 5}
                    )
                calls += 1
                if result.is_error:
                    failures.append(" ".join(getattr(b, "text", "") for b in result.content))
                    continue
                data = result.structured_content or {}
                if "memories" in data:
                    if memory_id not in {hit["memory"]["id"] for hit in data["memories"]}:
                        failures.append(f"client {number}: its own memory {memory_id} not found")
                else:
                    mine.append((data["memory"]["id"], content))
                    stored[data["memory"]["id"]] = content

    log_path = tmp_path / "server.log"
    env = _env(ollama)
    with log_path.open("wb") as log, http_server(data_dir, stderr=log, **env) as server:
        until = time.monotonic() + SECONDS
        async with anyio.create_task_group() as group:
            for number in range(CLIENTS):
                group.start_soon(client_loop, number, server, until)
    log_text = log_path.read_text()
    assert failures == [], failures[:5]
    integrity, ids = _check(data_dir / "persona.db")
    assert integrity == "ok"
    assert set(stored) <= ids
    assert "database is locked" not in log_text
    assert "Traceback" not in log_text
    print(f"{CLIENTS} clients, {SECONDS:.0f}s: {calls} calls ({calls / SECONDS:.0f}/s), {len(stored)} stored")


@dataclass
class SmallDisk:
    """A tmpfs mounted in a private mount namespace, held open by one process."""

    holder: int
    path: Path  # the mount point, as processes inside the namespace see it

    @property
    def enter(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        return ["nsenter", f"--target={self.holder}", "--user", "--mount", "--preserve-credentials"]

    def outside(self, inner: Path) -> Path:
        """A path inside, as this process reaches it (plain file operations only: SQLite resolves
        /proc/<pid>/root back to this namespace's root)."""
        return Path(f"/proc/{self.holder}/root{inner}")

    def check(self, database: Path) -> tuple[str, set[str]]:
        """_check, run inside the namespace."""
        code = (
            "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "print(json.dumps([db.execute('PRAGMA integrity_check').fetchone()[0], "
            "[r[0] for r in db.execute('SELECT id FROM memories')]]))"
        )
        done = subprocess.run(
            [*self.enter, sys.executable, "-c", code, str(database)],
            capture_output=True,
            text=True,
            check=True,
        )
        integrity, ids = json.loads(done.stdout)
        return integrity, set(ids)


@contextmanager
def small_disk(tmp_path: Path, megabytes: int) -> Iterator[SmallDisk]:
    """A folder on a tmpfs of `megabytes`, in a private mount namespace (unshare: no root
    needed where user namespaces are allowed). Gone, with everything on it, when the block ends."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    script = f"mount -t tmpfs -o size={megabytes}m tmpfs {mount_point} && echo ready && exec sleep 600"
    holder = subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "ready":
            pytest.skip(f"no private tmpfs here: {holder.stderr.read() if holder.stderr else ''}")
        yield SmallDisk(holder.pid, mount_point)
    finally:
        holder.kill()
        holder.wait(timeout=10)


async def _fill(client: Client, rng: random.Random, acknowledged: dict[str, str]) -> list[str]:
    """Store batches of 30 KB until three fail; the failures' messages."""
    errors: list[str] = []
    for batch in range(1000):
        items = [
            {"content": f"{_note(rng, f'filler {batch}.{i}')} {'x' * 3000}", "persona_id": "aria"}
            for i in range(10)
        ]
        result = await client.call_tool("memory_store_batch", {"items": items})
        if result.is_error:
            errors.append(" ".join(getattr(b, "text", "") for b in result.content))
            if len(errors) == 3:
                return errors
            continue
        data = result.structured_content or {}
        acknowledged.update(zip(data["ids"], (item["content"] for item in items), strict=True))
    raise AssertionError("the disk never filled")


async def test_a_full_disk_gives_clear_errors_and_corrupts_nothing(
    tmp_path: Path, ollama: OllamaStandIn
) -> None:
    rng = random.Random(3)
    acknowledged: dict[str, str] = {}
    with small_disk(tmp_path, 12) as disk:
        data_dir = disk.path / "data"
        ballast = disk.outside(disk.path / "ballast")  # what an operator deletes to make room
        ballast.write_bytes(b"\0" * 3 * 2**20)
        log_path = tmp_path / "server.log"
        with log_path.open("wb") as log, http_server(data_dir, log, disk.enter, **_env(ollama)) as server:
            async with http_client(server.url) as client:
                errors = await _fill(client, rng, acknowledged)
                for error in errors:
                    assert error.startswith("memory_store_batch: Nothing from this call was saved: the disk")
                    assert "is full" in error
                    assert "free some space there and call again" in error
                full_at = len(acknowledged)
                for memory_id, content in rng.sample(sorted(acknowledged.items()), 10):  # reads go on
                    assert (await call(client, "memory_get", memory_id=memory_id))["content"] == content
                assert (await call(client, "system_status"))["counts"]["memories"] >= full_at
                ballast.unlink()
                after = await _store_notes(client, rng, 50, "room again")  # writes come back by themselves
                acknowledged.update(after)
        integrity, ids = disk.check(data_dir / "persona.db")
        assert integrity == "ok"
        assert set(acknowledged) <= ids
        with http_server(data_dir, subprocess.DEVNULL, disk.enter, **_env(ollama)) as server:
            async with http_client(server.url) as client:
                last_id = next(reversed(acknowledged))
                assert (await call(client, "memory_get", memory_id=last_id))["content"] == acknowledged[
                    last_id
                ]
    log_text = log_path.read_text()
    assert "database is locked" not in log_text
    assert "cannot start a transaction" not in log_text
    print(f"disk full after {full_at} memories; {len(errors)} clear errors; {len(acknowledged)} kept")


@pytest.mark.parametrize("damage", ["garbage chroma.sqlite3", "a file where the folder was"])
async def test_a_damaged_vector_index_is_moved_aside_and_rebuilt(
    data_dir: Path, ollama: OllamaStandIn, damage: str
) -> None:
    rng = random.Random(11)
    with http_server(data_dir, **_env(ollama)) as server:
        async with http_client(server.url) as client:
            stored = await _store_notes(client, rng, 100, "kept")
            await _wait_caught_up(client)
            model_id = (await call(client, "system_status"))["embedder"]["model_id"]
    index = data_dir / "vectors"
    if damage == "garbage chroma.sqlite3":
        (index / "chroma.sqlite3").write_bytes(random.Random(3).randbytes(200_000))
    else:
        shutil.rmtree(index)
        index.write_text("not a folder")
    with http_server(data_dir, **_env(ollama)) as server:  # a restart heals it
        async with http_client(server.url) as client:
            healed = await _wait_caught_up(client)
            assert healed["error"] is None
            assert "was damaged" in healed["repaired"]
            assert "rebuilt from SQLite" in healed["repaired"]
            for memory_id, content in rng.sample(sorted(stored.items()), 10):
                assert await _found_by_meaning(client, memory_id, content)
            text = (await client.call_tool("system_status", {})).content[0].text  # type: ignore[union-attr]
            assert "Vector index repaired" in text
    assert len(_set_aside(data_dir)) == 1
    assert _indexed_vectors(index, model_id) == len(stored)
    with http_server(data_dir, **_env(ollama)) as server:  # a healthy index is left alone
        async with http_client(server.url) as client:
            assert (await _wait_caught_up(client))["repaired"] is None
    assert len(_set_aside(data_dir)) == 1


def _set_aside(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.iterdir() if p.name.startswith("vectors.damaged-")]
