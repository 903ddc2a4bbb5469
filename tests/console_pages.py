"""A real `persona-mcp console` process and Chromium driving it (Playwright, Debian's browser at
/usr/bin/chromium or PERSONA_MCP_CHROMIUM): what the console's browser tests and the screenshot
script share."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import JSON_HEADERS, free_port, server_env, wait_until_listening

__all__ = ["CHROMIUM", "Console", "Rpc", "chromium", "console_process"]

CHROMIUM = os.environ.get("PERSONA_MCP_CHROMIUM", "/usr/bin/chromium")
# Chromium's own network chatter is refused here (a closed network): keep it quiet and quick.
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Rpc:
    """MCP over streamable HTTP by hand, as a second client beside the page."""

    def __init__(self, url: str, token: str) -> None:
        self._http = httpx.Client(timeout=60, headers={**JSON_HEADERS, "Authorization": f"Bearer {token}"})
        self._url = url
        self._id = 0
        first = self._post(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        )
        self._session = first[1]
        self._http.headers["Mcp-Session-Id"] = self._session
        self._http.post(self._url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _post(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        self._id += 1
        response = self._http.post(
            self._url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        )
        response.raise_for_status()
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        reply = next(item for item in map(json.loads, data or [response.text]) if item.get("id") == self._id)
        assert "error" not in reply, reply
        return reply["result"], response.headers.get("mcp-session-id", "")

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self._post("tools/call", {"name": tool, "arguments": arguments})[0]
        assert not result.get("isError"), result
        return dict(result["structuredContent"])

    def close(self) -> None:
        self._http.close()


@dataclass
class Console:
    base: str  # http://127.0.0.1:port
    link: str  # the one-time login link it printed
    data_dir: str
    token: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def redeem(self) -> str:
        """Use the login link's code from outside the browser: the session token."""
        code = self.link.rsplit("#login=", 1)[1]
        response = httpx.post(f"{self.base}/ui/login", json={"code": code})
        response.raise_for_status()
        self.token = str(response.json()["token"])
        return self.token


@contextmanager
def console_process(data_dir: Path, **env: str) -> Iterator[Console]:
    """`persona-mcp console --no-browser` on a free port, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "persona_mcp", "console", "--no-browser", "--port", str(port)],
        env=server_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        link = ""
        while not link:
            line = process.stdout.readline().decode()
            if not line:
                raise RuntimeError("persona-mcp console exited before printing its link")
            found = re.search(r"http://127\.0\.0\.1:\d+/ui/#login=[\w-]+", line)
            link = found.group(0) if found else ""
        wait_until_listening(process, port, None)
        yield Console(f"http://127.0.0.1:{port}", link, str(data_dir), process=process)
    finally:
        process.terminate()
        process.wait(timeout=45)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
