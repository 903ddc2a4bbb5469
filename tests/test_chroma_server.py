"""CHROMA_HOST: the vector index on a real Chroma server (`chroma run`) instead of the data folder."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from core.config import Settings
from core.vector_index import INDEX_CALL_TIMEOUT_S
from persona_mcp import build_server
from tests.conftest import call
from tests.processes import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

_CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent))


@dataclass
class ChromaServer:
    host: str  # host:port, as CHROMA_HOST takes it
    process: subprocess.Popen[bytes]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    if _CHROMA is None:
        pytest.fail("the chroma CLI (installed with chromadb) is missing from this environment")
    port = free_port()
    process = subprocess.Popen(
        [_CHROMA, "run", "--path", str(tmp_path / "chroma-server"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start within 30 s")
        yield ChromaServer(f"127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


async def test_memories_are_indexed_on_a_chroma_server(
    settings: Settings, chroma_server: ChromaServer
) -> None:
    remote = settings.model_copy(update={"chroma_host": chroma_server.host})
    async with Client(build_server(remote)) as client:
        await call(
            client,
            "memory_store_batch",
            items=[
                {"content": "The ferry to the island leaves at dawn."},
                {"content": "Our tomato plants need staking this week."},
            ],
        )
        report = await call(client, "memory_reindex")
        assert report["orphans_removed"] == 0
        status = await call(client, "system_status")
        assert status["vector_index"]["location"] == chroma_server.host
        assert status["vector_index"]["owner"] is True
        assert status["vector_index"]["pending"] == 0
        top = (await call(client, "memory_search", query="boat timetable", n_results=1))["memories"][0]
        assert top["memory"]["content"].startswith("The ferry")
    assert not remote.index_path.exists()  # nothing was written to the local index folder


async def test_a_frozen_chroma_server_never_stalls_searches(
    settings: Settings, chroma_server: ChromaServer
) -> None:
    """SIGSTOP the Chroma server (it accepts connections and never answers): a search gives up
    on it after INDEX_CALL_TIMEOUT_S, answers from SQLite's vectors, and later ones do not wait."""
    remote = settings.model_copy(update={"chroma_host": chroma_server.host})
    async with Client(build_server(remote)) as client:
        stored = await call(client, "memory_store", content="The ferry to the island leaves at dawn.")
        await call(client, "memory_store", content="Our tomato plants need staking this week.")
        assert (await call(client, "memory_reindex"))["orphans_removed"] == 0
        chroma_server.process.send_signal(signal.SIGSTOP)
        try:
            for _ in range(2):
                started = time.monotonic()
                with anyio.fail_after(INDEX_CALL_TIMEOUT_S + 20):
                    found = await call(client, "memory_search", query="boat timetable", n_results=1)
                waited = time.monotonic() - started
                assert found["memories"][0]["memory"]["id"] == stored["memory"]["id"]
                assert found["semantic"] is True  # by meaning still, from SQLite's vectors
            assert waited < 5  # the second search no longer asks the frozen server
            index = (await call(client, "system_status"))["vector_index"]
            assert "TimeoutError" in (index["error"] or "")
        finally:
            chroma_server.process.send_signal(signal.SIGCONT)
