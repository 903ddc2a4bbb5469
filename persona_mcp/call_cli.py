"""`persona-mcp call TOOL [key=value ...] [--json ARGS] [--url URL]`: one tool call from a shell or
a CI script, with no MCP client to write. Against the data folder (an in-process server with
every tool) or a running server (`--url`, streamable HTTP). Prints the structured result as JSON
on stdout; a tool error goes to stderr with exit status 1, a usage error with 2."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import Client
from mcp_types import CallToolResult

from core.config import Settings

__all__ = ["add_call_command", "parse_arguments", "run_call"]


def add_call_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the call subcommand."""
    call = commands.add_parser(
        "call",
        help="call one tool and print its result as JSON (exit 1 on a tool error)",
        description="Call one tool. Arguments are key=value pairs, each value read as JSON when it "
        'parses (5, true, ["a"], {"k": 1}) and as text otherwise; --json gives them all at once. '
        "Example: persona-mcp call memory_search query='coffee' n_results=3",
    )
    call.add_argument("tool", help="the tool, e.g. memory_search (the dotted spelling works too)")
    call.add_argument("arguments", nargs="*", metavar="key=value", help="an argument of the tool")
    call.add_argument("--json", dest="json_arguments", metavar="ARGS", help="the arguments as a JSON object")
    call.add_argument("--url", help="a running server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    call.add_argument("--token", help="bearer token for --url (default: PERSONA_MCP_TOKEN)")


def parse_arguments(pairs: list[str], json_arguments: str | None) -> dict[str, Any]:
    """The call's arguments: --json's object, then each key=value over it. ValueError says what
    is wrong with which one."""
    arguments: dict[str, Any] = {}
    if json_arguments is not None:
        try:
            loaded = json.loads(json_arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--json is not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"--json must be a JSON object of arguments, not {type(loaded).__name__}")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r} is not key=value: write e.g. persona_id=aria or n_results=5")
        try:
            arguments[key] = json.loads(raw)
        except json.JSONDecodeError:
            arguments[key] = raw
    return arguments


@asynccontextmanager
async def _session(settings: Settings, url: str | None, token: str | None) -> AsyncIterator[Client]:
    if url is None:
        from persona_mcp.server import build_server

        everything = settings.model_copy(update={"toolsets": ("all",)})
        async with Client(build_server(everything), mode="legacy") as client:
            yield client
        return
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=300) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def _call(settings: Settings, args: argparse.Namespace, arguments: dict[str, Any]) -> int:
    token = args.token or os.environ.get("PERSONA_MCP_TOKEN") or None
    async with _session(settings, args.url, token) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        underscored = args.tool.replace(".", "_", 1)  # the dotted spelling works too
        name = args.tool if args.tool in tools else underscored
        if name not in tools:
            near = difflib.get_close_matches(underscored, sorted(tools), n=3)
            hint = f" Did you mean {' or '.join(near)}?" if near else " persona-mcp call --help shows how."
            print(f"persona-mcp call: no tool {args.tool!r}.{hint}", file=sys.stderr)
            return 2
        result = await client.call_tool(name, arguments)
    return _print(result)


def _print(result: CallToolResult) -> int:
    text = "\n".join(getattr(block, "text", "") for block in result.content).strip()
    if result.is_error:
        print(text or "the tool failed without a message", file=sys.stderr)
        return 1
    if result.structured_content is not None:
        print(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    else:
        print(text)
    return 0


# A bare initialize request: what `_refusal` sends to learn why a server refuses a session.
INITIALIZE_REQUEST: dict[str, object] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "call", "version": "1"},
    },
}


def run_call(settings: Settings, args: argparse.Namespace) -> int:
    """The call subcommand: its exit status."""
    try:
        arguments = parse_arguments(args.arguments, args.json_arguments)
    except ValueError as exc:
        print(f"persona-mcp call: {exc}", file=sys.stderr)
        return 2
    try:
        return anyio.run(_call, settings, args, arguments)
    except Exception as exc:  # the SDK reports a refused HTTP session as an error group
        if args.url is None:
            raise
        token = args.token or os.environ.get("PERSONA_MCP_TOKEN") or None
        print(f"persona-mcp call: {args.url}: {_refusal(args.url, token) or exc}", file=sys.stderr)
        return 2


def _refusal(url: str, token: str | None) -> str | None:
    """Why the server at `url` refuses a session (its status and own words), or None."""
    import httpx

    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(url, json=INITIALIZE_REQUEST, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        return f"cannot connect ({exc})"
    if response.status_code < 400:
        return None
    try:
        said = response.json().get("error_description") or response.json().get("message")
    except ValueError:
        said = None
    return f"the server answered {response.status_code}" + (f": {said}" if said else "")
