"""HTTP hardening against a real `persona-mcp` process: the per-client rate limit, the timeout
for request bodies that never finish, and logs (at DEBUG, the chattiest level) that carry no
secret: not the bearer token, a provider key, a backup passphrase or the master key."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import anyio
import pytest

from tests.conftest import call, call_error
from tests.ollama_standin import echo_reply, run_standin
from tests.processes import http_client, http_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_tool_calls_beyond_the_rate_limit_are_refused_and_change_nothing(data_dir: Path) -> None:
    limits = {"PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "60", "PERSONA_MCP_RATE_LIMIT_BURST": "5"}
    with http_server(data_dir, **limits) as server:
        async with http_client(server.url) as client:
            # The first call may wait for the server to finish starting (seconds, on a busy
            # machine), while the bucket refills: let it fill again, then spend the burst at once.
            await call(client, "system_status")
            await anyio.sleep(5.5)
            for _ in range(5):
                await call(client, "system_status")
            error = await call_error(client, "persona_create", name="Limited")
            assert "Rate limit: 127.0.0.1 may make 60 tool calls a minute (bursts of 5)" in error
            assert "retry in" in error
            await anyio.sleep(1.1)  # one call a second comes back
            assert "No persona_id 'limited' exists" in await call_error(
                client, "persona_get", persona_id="limited"
            )
            assert (await client.list_tools()).tools  # listing is not a tool call: never limited


def test_a_request_body_that_never_finishes_is_cut_off(data_dir: Path) -> None:
    with http_server(data_dir, PERSONA_MCP_HTTP_TIMEOUT_SECONDS="1.5") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"jsonrpc"'
            )
            answer = sock.recv(4096)
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408")
        assert 1.4 < waited < 8


async def test_debug_logs_never_contain_a_secret(data_dir: Path, tmp_path: Path) -> None:
    token = "tok-Zq8wL2vN5xR7bY3k"
    master = "master passphrase for the test run"
    provider_key = "ollama-9Fh2Kd7Lq3Xw8Vb5Nm1Rt6"
    passphrase = "backup passphrase 42"
    log_path = tmp_path / "server.log"
    with run_standin(chat_models={"llama3.2": echo_reply}) as ollama, log_path.open("wb") as log:
        ollama.require_token = provider_key
        env = {
            "PERSONA_MCP_LOG_LEVEL": "DEBUG",
            "PERSONA_MCP_TOKEN": token,
            "PERSONA_MCP_MASTER_KEY": master,
            "OLLAMA_HOST": ollama.url,
        }
        with http_server(data_dir, stderr=log, **env) as server:
            async with http_client(server.url, {"Authorization": f"Bearer {token}"}) as client:
                await call(client, "keys_set", name="ollama", value=provider_key)
                assert (await call(client, "persona_chat", message="Hello", user_id="sam"))["response"]
                await call(client, "state_save", path="secret.pmstate", passphrase=passphrase)
                await call_error(client, "keys_set", name="Bad Name", value=provider_key)
                await call_error(
                    client, "state_load", path="secret.pmstate", passphrase="wrong " + passphrase
                )
    assert ollama.authorization[-1] == f"Bearer {provider_key}"
    text = log_path.read_text()
    assert "DEBUG" in text  # the logs were written...
    assert "[redacted]" in text  # ... and scrubbed
    for secret in (token, master, provider_key, passphrase):
        assert secret not in text, f"{secret!r} reached the log"
