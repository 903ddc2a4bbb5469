"""The `persona-mcp` command: serve (stdio or http), import, export, backup, restore, demo and doctor."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from core import __version__
from core.config import ConfigError, Settings, load_settings
from core.errors import find_domain_error
from core.redact import RedactingFilter, remember
from persona_mcp.call_cli import add_call_command
from persona_mcp.console_cli import add_console_command, console_settings
from persona_mcp.migrate_cli import add_migrate_command
from persona_mcp.state_cli import add_commands as add_state_commands
from persona_mcp.state_cli import run_backup, run_restore
from persona_mcp.token_cli import add_token_commands, run_token
from persona_mcp.transfer_cli import add_commands, run_export, run_import

if TYPE_CHECKING:
    from persona_mcp.ui import ConsoleLogin

__all__ = ["GC_THRESHOLDS", "main"]

# Garbage collection thresholds while serving. A server holding many HTTP sessions keeps a few
# hundred thousand objects alive (the SDK's streams, tasks and cancel scopes: about 1,500 per
# session). Python's defaults (700, 10, 10) then ran a full collection over all of them every few
# seconds under load, and each stopped every request for 170-370 ms: 16 in a minute with 200
# sessions, which alone put search p99 over 220 ms. Collecting the youngest generation every
# 20,000 allocations leaves short-lived request objects to reference counting, so few survive into
# the older generations and full collections come minutes apart.
GC_THRESHOLDS = (20_000, 50, 10)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persona-mcp",
        description="An MCP server of personas that remember, feel and relate. With no command, "
        "serves MCP over stdio (what Claude Desktop and other MCP hosts start).",
    )
    parser.add_argument("--version", action="version", version=f"persona-mcp {__version__}")
    parser.add_argument("--data-dir", help="data folder (default: PERSONA_MCP_DATA_DIR or the user data dir)")
    # Plain `persona-mcp` is `persona-mcp serve` with serve's defaults.
    parser.set_defaults(
        command="serve", transport="stdio", host=None, port=None, allow_unauthenticated=None, keep=False
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve MCP over stdio (default) or streamable HTTP")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=None,
        help="HTTP: serve a non-loopback address without PERSONA_MCP_TOKEN (only behind something that "
        "authenticates)",
    )
    demo = commands.add_parser(
        "demo", help="start the server, call its tools from a real client, show what happened"
    )
    demo.add_argument(
        "--keep", action="store_true", help="use the real data folder instead of a temporary one"
    )
    commands.add_parser("doctor", help="check the data folder, database, embedder and Ollama; print a report")
    add_commands(commands)
    add_state_commands(commands)
    add_call_command(commands)
    add_token_commands(commands)
    add_console_command(commands)
    add_migrate_command(commands)
    return parser


def _configure_logging(settings: Settings) -> None:
    # stdout belongs to the MCP protocol on stdio: logs go to stderr only, with secrets redacted.
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
        # Clients may ask for more detail (logging/setLevel) than stderr shows: stderr keeps its level.
        handler.setLevel(settings.log_level)
    for secret in (settings.token, settings.master_key):
        if secret is not None:
            remember(secret.get_secret_value())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "call" or any(item.startswith("-") for item in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # call's key=value pairs may come after its options
        args.arguments = [*args.arguments, *extra]
    # Everything this process writes (the database and its WAL, the vector index, backups,
    # exports, the key file) is its owner's alone: files 0600, folders 0700.
    os.umask(0o077)
    command = args.command
    overrides: dict[str, object] = {"data_dir": args.data_dir}
    if command == "call" and not os.environ.get("PERSONA_MCP_LOG_LEVEL"):
        overrides["log_level"] = "WARNING"  # stdout is the result; keep stderr for what matters
    if command == "serve":
        overrides.update(
            http_host=args.host, http_port=args.port, allow_unauthenticated=args.allow_unauthenticated
        )
    try:
        settings = load_settings(None, **overrides)
    except ConfigError as exc:
        print(f"persona-mcp: {exc.message}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    if command == "call":
        from persona_mcp.call_cli import run_call

        return run_call(settings, args)
    if command == "demo":
        from persona_mcp.demo import run_demo

        return anyio.run(run_demo, settings, args.keep)
    if command == "import":
        return run_import(settings, args)
    if command == "export":
        return run_export(settings, args)
    if command == "backup":
        return run_backup(settings, args)
    if command == "restore":
        return run_restore(settings, args)
    if command == "token":
        return run_token(settings, args)
    if command == "migrate":
        from persona_mcp.migrate_cli import run_migrate

        return run_migrate(settings, args)
    if command == "doctor":
        from persona_mcp.doctor import run_doctor

        return anyio.run(run_doctor, settings)
    if command == "console":
        console, login, _ = console_settings(settings, args)
        return _serve(console, "http", login)
    return _serve(settings, args.transport)


def _serve(settings: Settings, transport: str, login: ConsoleLogin | None = None) -> int:
    from persona_mcp.server import build_server

    server = build_server(settings)
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        if transport == "http":
            from persona_mcp.http import serve_http

            anyio.run(serve_http, server, settings, login)
        else:
            anyio.run(server.run_stdio_async)
    except KeyboardInterrupt:
        pass
    except BaseException as exc:  # a start-up failure arrives wrapped in the task groups' exception groups
        cause = find_domain_error(exc)
        if cause is None:
            raise
        print(f"persona-mcp: {cause.message}", file=sys.stderr)
        return 2
    return _exit_past_stuck_threads(0)


def _exit_past_stuck_threads(code: int, grace: float = 5.0) -> int:
    """The server has stopped and closed the database. A worker thread still stuck in a call
    that never returned (a wedged vector index, abandoned after its timeout) would keep Python
    from exiting at all: give threads `grace` seconds, then leave without them."""
    deadline = time.monotonic() + grace
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in others if t.is_alive()]
    if not stuck:
        return code
    logging.getLogger(__name__).warning(
        "exiting past %d stuck worker thread(s) (%s); everything acknowledged was committed",
        len(stuck),
        ", ".join(stuck),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
