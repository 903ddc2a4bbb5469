"""MCP clients that act as a given principal: the in-process server a client starts inherits the
principal it was opened under (persona_mcp.auth.principal_middleware), as an HTTP request's
token would name it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import Client

from core.access import Principal, acting_as
from core.config import Settings
from persona_mcp import build_server

ALICE = Principal("alice")
BOB = Principal("bob")
CAROL = Principal("carol")


class _Acting:
    """A client's methods, each called as `principal` (in 'auto' mode a call runs in the caller's
    own context rather than in the server's)."""

    def __init__(self, client: Client, principal: Principal) -> None:
        self._client = client
        self._principal = principal

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        async def acting(*args: Any, **kwargs: Any) -> Any:
            with acting_as(self._principal):
                return await method(*args, **kwargs)

        return acting


@asynccontextmanager
async def client_as(settings: Settings, principal: Principal, mode: str = "auto") -> AsyncIterator[Client]:
    """A client whose every call acts as `principal`."""
    with acting_as(principal):
        client = Client(build_server(settings), raise_exceptions=True, mode=mode)  # type: ignore[arg-type]
        await client.__aenter__()
    try:
        yield _Acting(client, principal)  # type: ignore[misc]
    finally:
        await client.__aexit__(None, None, None)


async def owning_the_index(admin: Client) -> None:
    """Wait until `admin`'s server owns the vector index. Each in-process client runs its own
    server on the folder, and only one owns the index (as one of several processes would); the
    admin's must, for memory_reindex and state_load, which need it."""
    with anyio.fail_after(60):
        while True:
            result = await admin.call_tool("system_status", {})
            if (result.structured_content or {}).get("vector_index", {}).get("owner"):
                return
            await anyio.sleep(0.1)
