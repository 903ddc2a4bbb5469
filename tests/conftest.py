"""Shared fixtures: a real data folder per test and real MCP client sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from core.config import Settings, load_settings
from persona_mcp import build_server
from tests.ollama_standin import OllamaStandIn, echo_reply, run_standin


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (modules set `pytestmark = pytest.mark.anyio`) run on asyncio."""
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Every tool registered: most tests exercise tools beyond the default chat profile."""
    return load_settings({}, data_dir=data_dir, toolsets=("all",))


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """'auto' dispatches in process without JSON-RPC; 'legacy' goes through the JSON-RPC layer."""
    return str(request.param)


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    """The Ollama stand-in with one chat model (tests that need embeddings too define their own)."""
    with run_standin(chat_models={"llama3.2": echo_reply}) as standin:
        yield standin


@pytest.fixture
async def client(settings: Settings, mode: str) -> AsyncIterator[Client]:
    async with Client(build_server(settings), raise_exceptions=True, mode=mode) as session:  # type: ignore[arg-type]
        yield session


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    result = await client.call_tool(tool, arguments)
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail with a tool error; return the error text."""
    result = await client.call_tool(tool, arguments)
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{tool} unexpectedly succeeded: {text}"
    assert "Traceback" not in text
    return text
