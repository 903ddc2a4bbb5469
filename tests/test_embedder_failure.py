"""An embedder that fails to load in an unexpected way (here: a model folder whose
sentence_bert_config.json is broken) leaves a working server on word search, says why and how to
fix it, and loads once the folder is repaired."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from core import minilm
from core.onnx_bert import default_cache_dir
from tests.conftest import call
from tests.processes import http_client, http_server, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CONFIG = "sentence_bert_config.json"


@pytest.fixture
def broken_model(tmp_path: Path) -> Path:
    """The bundled MiniLM folder (its files linked, not copied) with a broken config file."""
    source, _ = minilm.local_folder(default_cache_dir())
    folder = tmp_path / "all-MiniLM-L6-v2"
    for item in source.rglob("*"):
        target = folder / item.relative_to(source)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif item.name != CONFIG:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(item)
    (folder / CONFIG).write_text("{broken")
    return folder


def _env(model: Path) -> dict[str, str]:
    return {"PERSONA_MCP_EMBEDDER": "sentence-transformers", "PERSONA_MCP_EMBEDDING_MODEL": str(model)}


async def test_http_serves_on_words_then_recovers_when_the_model_is_repaired(
    data_dir: Path, broken_model: Path
) -> None:
    with http_server(data_dir, **_env(broken_model)) as server:
        async with http_client(server.url) as client:
            await call(client, "memory_store", content="Sam's bicycle is painted green.", persona_id="aria")
            found = await call(client, "memory_search", query="bicycle", persona_id="aria")
            assert [m["memory"]["content"] for m in found["memories"]] == ["Sam's bicycle is painted green."]
            assert found["semantic"] is False
            status = await call(client, "system_status")
            error = status["embedder"]["error"]
            assert "JSONDecodeError" in error
            assert str(broken_model) in error
            assert "memory_reindex" in error
            assert status["embedder"]["model_id"] is None

            source = minilm.local_folder(default_cache_dir())[0] / CONFIG
            (broken_model / CONFIG).write_text(source.read_text())
            await call(client, "memory_reindex")  # loads the repaired model and indexes
            status = await call(client, "system_status")
            assert status["embedder"]["error"] is None
            assert status["embedder"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
            found = await call(client, "memory_search", query="what colour is the bike", persona_id="aria")
            assert found["semantic"] is True
            assert found["memories"][0]["memory"]["content"] == "Sam's bicycle is painted green."


async def test_stdio_stays_up_on_a_broken_model(data_dir: Path, broken_model: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "persona_mcp"],
        env=server_env(data_dir, **_env(broken_model)),
    )
    async with Client(params) as client:
        await call(client, "memory_store", content="Sam collects stamps.", persona_id="aria")
        found = await call(client, "memory_search", query="stamps", persona_id="aria")
        assert found["total_results"] == 1
        assert "JSONDecodeError" in (await call(client, "system_status"))["embedder"]["error"]
        assert (await call(client, "persona_get", persona_id="kira"))["name"] == "Kira"


def test_doctor_says_why_the_embedder_did_not_load(data_dir: Path, broken_model: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "persona_mcp", "doctor"],
        env=server_env(data_dir, **_env(broken_model)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stdout
    line = next(line for line in result.stdout.splitlines() if "embedder" in line)
    assert line.lstrip().startswith("[warn] embedder")
    assert "JSONDecodeError" in line
    assert "reinstall" in line
