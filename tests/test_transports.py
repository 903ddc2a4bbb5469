"""A real `persona-mcp` process over stdio and over streamable HTTP, as a client reaches it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import call, call_error
from tests.processes import INITIALIZE, JSON_HEADERS, server_env
from tests.processes import http_server as start_http_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "test-token-0123456789"


def _stdio(data_dir: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "persona_mcp"], env=server_env(data_dir))


async def test_stdio_subprocess_serves_tools_and_keeps_data_across_restarts(data_dir: Path) -> None:
    async with Client(_stdio(data_dir)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"persona_list", "persona_create", "persona_chat"} <= names
        await call(client, "persona_create", template="educational-tutor", name="Tutor Tom")
        assert "unknown argument" in await call_error(client, "persona_list", bogus=True)
    async with Client(_stdio(data_dir), mode="legacy") as client:
        assert (await call(client, "persona_get", persona_id="tutor-tom"))["name"] == "Tutor Tom"
        await call(client, "persona_switch", persona_id="tutor-tom")
        assert (await call(client, "persona_status"))["persona"]["id"] == "tutor-tom"


@pytest.fixture
def http_server(data_dir: Path) -> Iterator[str]:
    with start_http_server(
        data_dir, PERSONA_MCP_TOKEN=TOKEN, PERSONA_MCP_MAX_REQUEST_BYTES="65536"
    ) as server:
        yield server.url


_INIT = INITIALIZE
_JSON_HEADERS = JSON_HEADERS
_AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_http_refuses_requests_without_the_bearer_token(http_server: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.post(http_server, json=_INIT, headers={**_JSON_HEADERS, **headers})
        assert response.status_code == 401
        assert "PERSONA_MCP_TOKEN" in response.text
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_http_refuses_foreign_origin_and_host_headers(http_server: str) -> None:
    headers = {**_JSON_HEADERS, **_AUTH}
    foreign_origin = httpx.post(http_server, json=_INIT, headers={**headers, "Origin": "http://evil.example"})
    assert foreign_origin.status_code == 403
    foreign_host = httpx.post(http_server, json=_INIT, headers={**headers, "Host": "evil.example"})
    assert foreign_host.status_code == 421
    local_origin = httpx.post(http_server, json=_INIT, headers={**headers, "Origin": "http://localhost:3000"})
    assert local_origin.status_code == 200


def test_http_refuses_oversized_requests(http_server: str) -> None:
    big = {**_INIT, "params": {**_INIT["params"], "padding": "x" * 100_000}}  # type: ignore[dict-item]
    response = httpx.post(http_server, json=big, headers={**_JSON_HEADERS, **_AUTH})
    assert response.status_code == 413


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_client_with_token_uses_the_tools(http_server: str, mode: str) -> None:
    async with (
        httpx2.AsyncClient(headers=_AUTH) as http,
        Client(streamable_http_client(http_server, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"persona_get", "memory_search", "memory_store_batch", "system_status"} <= names
        kira = await call(client, "persona_get", persona_id="kira")
        assert kira["name"] == "Kira"
        created = await call(client, "persona_create", name=f"Http {mode}", tags=["http"])
        assert created["id"] == f"http-{mode}"
        assert "already exists" in await call_error(client, "persona_create", name=f"Http {mode}")
