"""Connection-level attacks on a real `persona-mcp serve --transport http`: request heads that
never finish (slowloris), heads of megabytes, one address opening many sockets, the bearer
scheme's case, and an open bind without a token."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import anyio
import pytest

from tests.conftest import call
from tests.processes import free_port, http_client, http_server, server_env, wait_until_listening

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@contextmanager
def _connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=20))
            for _ in range(count)
        ]


def test_a_request_head_that_never_finishes_is_cut_off(data_dir: Path) -> None:
    with http_server(data_dir, PERSONA_MCP_HTTP_TIMEOUT_SECONDS="1.5") as server:
        with _connections(server.port, 3) as socks:
            started = time.monotonic()
            socks[0].sendall(b"POST /mcp HTTP/1.1\r\n")  # the request line, then nothing
            socks[1].sendall(HEAD + b"X-Slow: 1\r\n")  # some headers, then nothing
            # socks[2] sends nothing at all
            answers = [_answer(sock) for sock in socks]
            waited = time.monotonic() - started
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers
        assert b"did not arrive in time" in answers[0]
        assert 1.4 < waited < 10


def test_request_heads_over_64_kib_are_refused_before_they_are_buffered(data_dir: Path) -> None:
    # No embedding model: its loading in the background would grow the process while we measure.
    with http_server(data_dir, PERSONA_MCP_EMBEDDER="ollama", OLLAMA_HOST="http://127.0.0.1:9") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(HEAD + b"X-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n")
            assert _answer(sock).startswith(b"HTTP/1.1 431")
        # A head just under the limit is still served (here: 401-free, so the MCP answer).
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(
                HEAD + b"X-Fine: " + b"b" * 60_000 + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            assert not _answer(sock).startswith(b"HTTP/1.1 431")

        # 20 connections sending 4 MB of unfinished headers each: the server does not keep them.
        before = _rss_kib(server.process.pid)
        with _connections(server.port, 20) as socks:
            for sock in socks:
                sock.sendall(HEAD + b"X-Flood: ")
            for _ in range(64):
                for sock in socks:
                    with suppress(BrokenPipeError, ConnectionResetError):
                        sock.sendall(b"z" * 65536)
            answers = [_answer(sock) for sock in socks]
        grown_mib = (_rss_kib(server.process.pid) - before) / 1024
        assert all(answer.startswith(b"HTTP/1.1 431") for answer in answers)
        assert grown_mib < 30, f"the server grew by {grown_mib:.0f} MiB"


async def test_one_address_holds_only_so_many_connections(data_dir: Path) -> None:
    with http_server(data_dir, PERSONA_MCP_HTTP_MAX_CONNECTIONS_PER_CLIENT="8") as server:
        await anyio.sleep(0.5)  # the start-up probe's connection is gone
        with _connections(server.port, 8) as held:
            for sock in held:
                sock.sendall(b"POST /mcp HTTP/1.1\r\n")
            await anyio.sleep(0.3)
            for sock in held:  # all eight are served (nothing answered yet: their heads are unfinished)
                sock.settimeout(0.05)
                with pytest.raises(TimeoutError):
                    sock.recv(1)
            with socket.create_connection(("127.0.0.1", server.port), timeout=20) as extra:
                assert _answer(extra).startswith(b"HTTP/1.1 503")
        # The held sockets are closed: the address may connect again and the server works.
        await anyio.sleep(0.3)
        async with http_client(server.url) as client:
            assert (await call(client, "persona_get", persona_id="aria"))["name"] == "Aria"


async def test_300_slow_sockets_from_one_address_leave_the_server_reachable_for_others(
    data_dir: Path,
) -> None:
    """The attack as reported: 300 sockets that never finish a request, against a server whose
    file descriptor limit is 256. The attacker's address gets 128 of them; everyone else is served."""
    log = data_dir.parent / "server.log"
    with (
        log.open("wb") as stderr,
        http_server(
            data_dir, stderr=stderr, prefix=("prlimit", "--nofile=256:256"), PERSONA_MCP_LOG_LEVEL="INFO"
        ) as server,
    ):
        attack: list[socket.socket] = []
        try:
            for _ in range(300):
                sock = socket.socket()
                sock.settimeout(20)
                sock.bind(("127.0.0.2", 0))  # another address on loopback: the attacker
                sock.connect(("127.0.0.1", server.port))
                with suppress(OSError):  # refused ones may already be closed
                    sock.sendall(b"POST /mcp HTTP/1.1\r\n")
                attack.append(sock)
            await anyio.sleep(0.5)
            async with http_client(server.url) as client:
                assert (await call(client, "persona_get", persona_id="aria"))["name"] == "Aria"
            refused = 0
            for sock in attack:
                sock.settimeout(0.05)
                with suppress(TimeoutError):
                    refused += sock.recv(64).startswith(b"HTTP/1.1 503")
            assert refused >= 300 - 128
        finally:
            for sock in attack:
                sock.close()
    text = log.read_text()
    assert "lowered to 72: the process may open 256 files" in text  # the cap fits the fd limit
    assert "Too many open files" not in text
    assert "out of system resource" not in text


async def test_the_bearer_scheme_is_case_insensitive(data_dir: Path) -> None:
    token = "tok-Case9Insensitive4Scheme"
    with http_server(data_dir, PERSONA_MCP_TOKEN=token) as server:
        for scheme in ("Bearer", "bearer", "BEARER"):
            async with http_client(server.url, {"Authorization": f"{scheme} {token}"}) as client:
                assert (await call(client, "persona_get", persona_id="kira"))["name"] == "Kira"
        for wrong in (f"Basic {token}", f"Bearer {token}x", "Bearer", token):
            with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
                sock.sendall(
                    HEAD
                    + f"Authorization: {wrong}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
                )
                assert _answer(sock).startswith(b"HTTP/1.1 401"), wrong


def _serve(data_dir: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "persona_mcp", "serve", "--transport", "http", *args],
        env=server_env(data_dir, PERSONA_MCP_LOG_LEVEL="INFO", **env),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_open_bind_without_a_token_is_refused(data_dir: Path, host: str) -> None:
    process = _serve(data_dir, "--host", host, "--port", str(free_port()))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    message = stderr.decode()
    assert "PERSONA_MCP_TOKEN" in message
    assert "--allow-unauthenticated" in message
    assert "Traceback" not in message
    assert not (data_dir / "persona.db").exists()  # refused before anything was opened


def _wildcard_port() -> int:
    """A port free on every address (free_port checks 127.0.0.1 only: a connection's local port
    there would still stop a 0.0.0.0 bind)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def test_an_open_bind_with_the_explicit_opt_out_starts_and_says_so_plainly(data_dir: Path) -> None:
    port = _wildcard_port()
    process = _serve(data_dir, "--host", "0.0.0.0", "--port", str(port), "--allow-unauthenticated")
    try:
        wait_until_listening(process, port, None)
    except RuntimeError:
        raise AssertionError(process.communicate(timeout=45)[1].decode()) from None
    process.terminate()
    log = process.communicate(timeout=45)[1].decode()
    assert "with no tokens (allowed by PERSONA_MCP_ALLOW_UNAUTHENTICATED): anyone who can" in log
    assert "[redacted]" not in log
