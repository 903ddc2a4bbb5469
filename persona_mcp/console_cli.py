"""`persona-mcp console`: the console in the browser, from a loopback server of its own that
needs a token nobody else has, handed to the page once through a one-time login link."""

from __future__ import annotations

import argparse
import secrets
import socket
import threading
import webbrowser
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from core.config import Settings

if TYPE_CHECKING:  # the server's modules load only when the console starts
    from persona_mcp.ui import ConsoleLogin

__all__ = ["add_console_command", "console_settings"]


def add_console_command(commands: Any) -> None:
    console = commands.add_parser(
        "console", help="open the persona console in the browser (a loopback server, a one-time login link)"
    )
    console.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    console.add_argument("--no-browser", action="store_true", help="print the link; do not open a browser")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def console_settings(settings: Settings, args: argparse.Namespace) -> tuple[Settings, ConsoleLogin, str]:
    """The console server's settings (loopback, every tool, a fresh token), its login codes and
    the link that signs the browser in."""
    from persona_mcp.ui import ConsoleLogin

    port = args.port or _free_port()
    login = ConsoleLogin(secrets.token_urlsafe(32))
    console = settings.model_copy(
        update={
            "http_host": "127.0.0.1",
            "http_port": port,
            "token": SecretStr(login.token),
            "toolsets": ("all",),
        }
    )
    link = f"http://127.0.0.1:{port}/ui/#login={login.link_code()}"
    print(f"The persona console (the link works once; Ctrl+C stops the server):\n{link}", flush=True)
    if not args.no_browser:
        threading.Timer(1.5, webbrowser.open, (link,)).start()  # once the server listens
    return console, login, link
