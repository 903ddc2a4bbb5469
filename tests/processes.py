"""Real `persona-mcp` server processes for tests: started on a free port, waited for, stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from persona_mcp.call_cli import INITIALIZE_REQUEST

__all__ = [
    "INITIALIZE",
    "JSON_HEADERS",
    "ServerProcess",
    "free_port",
    "http_client",
    "http_server",
    "server_env",
    "wait_until_listening",
]

STARTUP_TIMEOUT_S = 60.0

# A raw initialize request (the one `persona-mcp call` sends), and the headers streamable HTTP wants,
# for tests that talk HTTP by hand.
INITIALIZE = INITIALIZE_REQUEST
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A server process's environment: every tool registered unless `extra` says otherwise."""
    return {
        **os.environ,
        "PERSONA_MCP_DATA_DIR": str(data_dir),
        "PERSONA_MCP_LOG_LEVEL": "WARNING",
        "PERSONA_MCP_TOOLSETS": "all",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    port: int

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    @contextmanager
    def lost_connections_expected(self) -> Iterator[None]:
        """Swallow what clients raise because this server was killed under them (and only then)."""
        try:
            yield
        except Exception:  # an ExceptionGroup of broken connections, from the client's task group
            if self.process.poll() is None:
                raise


def wait_until_listening(process: subprocess.Popen[bytes], port: int, stderr: IO[bytes] | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = stderr.read().decode() if stderr else ""
                raise RuntimeError(f"HTTP server did not start: {log}") from None
            time.sleep(0.05)


@contextmanager
def http_server(
    data_dir: Path,
    stderr: IO[bytes] | int | None = subprocess.PIPE,
    prefix: Sequence[str] = (),
    port: int | None = None,
    **env: str,
) -> Iterator[ServerProcess]:
    """`persona-mcp serve --transport http` on a free loopback port, until the block ends
    (then terminated, unless the test killed it first). `prefix` runs it through another
    command, such as nsenter. `port` picks the port (default: a free one)."""
    port = port or free_port()
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "persona_mcp", "serve", "--transport", "http", "--port", str(port)],
        env=server_env(data_dir, **env),
        stderr=stderr,
    )
    try:
        wait_until_listening(process, port, process.stderr)
        yield ServerProcess(process, f"http://127.0.0.1:{port}/mcp", port)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=45)
        if process.stderr is not None:
            process.stderr.close()


@asynccontextmanager
async def http_client(
    url: str, headers: dict[str, str] | None = None, **client: Any
) -> AsyncIterator[Client]:
    """A real MCP client session over streamable HTTP."""
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), **client) as session,  # type: ignore[arg-type]
    ):
        yield session
