"""Shared fixtures: a real data folder per test and real MCP client sessions."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config import Settings, load_settings
from persona_mcp import build_server
from tests.ollama_standin import OllamaStandIn, echo_reply, run_standin


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("PERSONA_MCP_TEST_BACKEND", "sqlite"),
        help="the store the `settings` fixture points at: the data folder's SQLite file (default), "
        "or a fresh database per test on a PostgreSQL server the session starts (pgserver)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--backend") == "postgresql":
        skip = pytest.mark.skip(reason="checks the SQLite store's own files")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


_TEMPLATE = "persona_template"
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL 16 + pgvector for the session (the pgserver wheel, run unprivileged), with a
    template database migrated once; its URL (the `postgres` database)."""
    pgserver = pytest.importorskip("pgserver")
    import psycopg

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its exit hook logs after capture closes

    from core.store.postgres.migrate import migrate

    running = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    try:
        uri = running.get_uri()
        with psycopg.connect(uri, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {_TEMPLATE}")
        anyio.run(migrate, uri.replace("/postgres?", f"/{_TEMPLATE}?"))
        yield uri
    finally:
        running.cleanup()


def new_pg_database(cluster: str, schema: bool = True) -> str:
    """The URL of a new database on the cluster: with the schema (made from the template), or empty."""
    import psycopg

    name = f"t{next(_databases)}"
    with psycopg.connect(cluster, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {_TEMPLATE}" if schema else ""))
    return cluster.replace("/postgres?", f"/{name}?")


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> str | None:
    """With --backend postgresql, the session's PostgreSQL (pg_cluster); None otherwise."""
    if request.config.getoption("--backend") != "postgresql":
        return None
    return str(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def database_url(postgres_server: str | None, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """A new PostgreSQL database with the schema for this test (--backend postgresql), else None.
    PERSONA_MCP_DATABASE_URL names it too, for the CLI commands and processes a test starts."""
    if postgres_server is None:
        return None
    url = new_pg_database(postgres_server)
    monkeypatch.setenv("PERSONA_MCP_DATABASE_URL", url)
    return url


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (modules set `pytestmark = pytest.mark.anyio`) run on asyncio."""
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, database_url: str | None) -> Settings:
    """Every tool registered: most tests exercise tools beyond the default chat profile. On the
    store --backend names."""
    return load_settings({}, data_dir=data_dir, toolsets=("all",), database_url=database_url)


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
