"""The MCP features hosts use beyond tools: personas as resources (kept current with listChanged),
completions for prompt and resource-template arguments, logging (`logging/setLevel` and the
server's log records sent to clients at that level), icons, and capabilities that advertise only
what is implemented, the same on the handshake and the 2026-07-28 protocols.

Change notifications reach handshake-era connections (stdio, HTTP with Mcp-Session-Id) as
`notifications/resources/list_changed`, and 2026-07-28 clients through `subscriptions/listen`.
The persona list is watched in the database (a cheap fingerprint every two seconds), so a change
made by any session, the CLI or another process is announced."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import threading
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourcesListChanged
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmptyResult,
    Icon,
    ListResourcesResult,
    LoggingLevel,
    PaginatedRequestParams,
    PromptReference,
    Resource,
    ServerCapabilities,
    SetLevelRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from core.errors import NotFound
from core.models import Persona
from persona_mcp.session import AppState
from persona_mcp.ui import APP_MIME, CONSOLE_URI

__all__ = ["SERVER_ICONS", "HostFeatures", "persona_icons"]

logger = logging.getLogger(__name__)
# The SDK warns on every log message sent: logging is deprecated in 2026-07-28, and this module
# sends log messages only on the handshake-era connections that still have it.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning, module=__name__)

PAGE = 100  # resources per resources/list page
COMPLETIONS = 100  # the most values one completion/complete returns (the spec's limit)
WATCH_SECONDS = 2.0
# Python's levels for the client's, and back (RFC 5424 names, as MCP uses them).
_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO + 5,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL + 5,
    "emergency": logging.CRITICAL + 10,
}
_DEFAULT_CLIENT_LEVEL: LoggingLevel = "warning"  # until a client sets its own
_FORWARDED = ("core", "persona_mcp")  # our loggers; the SDK's and libraries' stay on stderr

_EMBLEM = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" '
    'fill="#5b4b8a"/><circle cx="25" cy="27" r="11" fill="#f4e9ff"/><circle cx="41" cy="27" r="11" '
    'fill="#f4e9ff" fill-opacity=".7"/><path d="M14 50c3-8 10-12 18-12s15 4 18 12" stroke="#f4e9ff" '
    'stroke-width="4" fill="none" stroke-linecap="round"/></svg>'
)


def _svg_icon(svg: str) -> Icon:
    data = base64.b64encode(svg.encode()).decode()
    return Icon(src=f"data:image/svg+xml;base64,{data}", mime_type="image/svg+xml", sizes=["any"])


SERVER_ICONS = [_svg_icon(_EMBLEM)]
_IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def persona_icons(persona: Persona) -> list[Icon]:
    """The card's avatar when it has one (a V3 `icon` asset given as an https or data URL),
    else a generated badge with the persona's initial."""
    for asset in persona.assets:
        uri = asset.uri.strip()
        if asset.type == "icon" and (uri.startswith("https://") or uri.startswith("data:image/")):
            mime = _IMAGE_TYPES.get(asset.ext.lower().lstrip("."))
            return [Icon(src=uri, mime_type=mime)]
    hue = int(hashlib.sha256(persona.id.encode()).hexdigest()[:4], 16) % 360
    initial = html.escape((persona.name.strip()[:1] or "?").upper())
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="hsl({hue},45%,42%)"/>'
        '<text x="32" y="42" font-family="sans-serif" font-size="30" text-anchor="middle" '
        f'fill="#fff">{initial}</text></svg>'
    )
    return [_svg_icon(svg)]


class _HonestServer(Server[Any]):
    """The SDK's low-level server, advertising what persona-mcp implements on every protocol
    version: resources listChanged (watched and announced), no resource subscriptions, tool and
    prompt lists that never change, completions, and logging where the protocol still has it."""

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> ServerCapabilities:
        found = super().get_capabilities(
            NotificationOptions(resources_changed=True),
            experimental_capabilities,
            extensions,
            protocol_version=protocol_version,
        )
        modern = protocol_version in MODERN_PROTOCOL_VERSIONS
        return found.model_copy(
            update={
                "tools": found.tools and found.tools.model_copy(update={"list_changed": False}),
                "prompts": found.prompts and found.prompts.model_copy(update={"list_changed": False}),
                "resources": found.resources
                and found.resources.model_copy(update={"list_changed": True, "subscribe": False}),
                "logging": None if modern else found.logging,
            }
        )


class HostFeatures:
    """Resources, completions, logging and change announcements for one server."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        self._bus = bus
        # Handshake-era connections seen, by identity: the last request's session proxy, whose
        # connection-wide channel carries notifications after that request has finished.
        self._sessions: dict[int, tuple[weakref.ref[Any], ServerSession]] = {}
        self._levels: dict[int, LoggingLevel] = {}

    def install(self, lowlevel: Server[Any]) -> None:
        """Register the handlers and the session middleware on the SDK's low-level server."""
        lowlevel.__class__ = _HonestServer
        lowlevel.add_request_handler("resources/list", PaginatedRequestParams, self._list_resources)
        lowlevel.add_request_handler("completion/complete", CompleteRequestParams, self._complete)
        lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, self._set_level)
        lowlevel.middleware.append(self._remember_session)

    # -- sessions ---------------------------------------------------------------------------

    async def _remember_session(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        session = ctx.session
        if session.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = session._connection
            key = id(connection)
            if key not in self._sessions:
                weakref.finalize(connection, self._forget, key)
            self._sessions[key] = (weakref.ref(connection), session)
        return await call_next(ctx)

    def _forget(self, key: int) -> None:
        self._sessions.pop(key, None)
        self._levels.pop(key, None)

    async def _each_session(self, send: Callable[[int, ServerSession], Awaitable[None] | None]) -> None:
        for key, (alive, session) in list(self._sessions.items()):
            if alive() is None:
                self._forget(key)
                continue
            try:
                with anyio.fail_after(5):
                    sent = send(key, session)
                    if sent is not None:
                        await sent
            except Exception:  # a closed or stuck connection: it will not hear of changes again
                logger.debug("dropping a session that no longer takes notifications", exc_info=True)
                self._forget(key)

    async def announce_resources_changed(self) -> None:
        """Tell every client the resource list changed."""
        await self._bus.publish(ResourcesListChanged())
        await self._each_session(lambda _, session: session.send_resource_list_changed())

    # -- resources --------------------------------------------------------------------------

    async def _list_resources(
        self, ctx: ServerRequestContext[AppState, Any], params: PaginatedRequestParams
    ) -> ListResourcesResult:
        personas = await ctx.lifespan_context.core.personas.list_personas()
        start = _offset(params.cursor)
        # The console (an MCP App) comes first, then every persona the caller may see.
        console = Resource(
            uri=CONSOLE_URI,
            name="console",
            title="Persona console",
            description="Browse and curate personas, memories, relationships and mood (an MCP App).",
            mime_type=APP_MIME,
        )
        listed = [
            console,
            *(
                Resource(
                    uri=f"persona://{persona.id}",
                    name=persona.id,
                    title=persona.name,
                    description=persona.description or None,
                    mime_type="application/json",
                    icons=persona_icons(persona),
                )
                for persona in personas
            ),
        ]
        resources = listed[start : start + PAGE]
        more = start + PAGE < len(listed)
        return ListResourcesResult(resources=resources, next_cursor=str(start + PAGE) if more else None)

    async def watch(self, fingerprint: Callable[[], Awaitable[object]]) -> None:
        """Announce a change whenever the persona list's fingerprint moves. Runs until cancelled."""
        last = await fingerprint()
        while True:
            await anyio.sleep(WATCH_SECONDS)
            try:
                now = await fingerprint()
            except Exception:  # the database busy or closing: look again next time
                logger.debug("persona fingerprint unavailable", exc_info=True)
                continue
            if now != last:
                last = now
                await self.announce_resources_changed()

    # -- completions ------------------------------------------------------------------------

    async def _complete(
        self, ctx: ServerRequestContext[AppState, Any], params: CompleteRequestParams
    ) -> CompleteResult:
        core = ctx.lifespan_context.core
        name, typed = params.argument.name, params.argument.value.strip().casefold()
        given = (params.context.arguments if params.context else None) or {}
        values: list[str] = []
        if isinstance(params.ref, PromptReference) and params.ref.name != "roleplay":
            pass  # no other prompt takes these arguments
        elif name == "persona_id":
            personas = await core.personas.list_personas()
            values = [p.id for p in personas if p.id.startswith(typed) or p.name.casefold().startswith(typed)]
        elif name == "conversation_id":
            try:
                listed = await core.conversations.list(given.get("persona_id"), None, 200)
            except NotFound:  # a persona_id that names nothing (or nothing the caller may see)
                listed = None
            conversations = listed.conversations if listed else []
            values = [c.id for c in conversations if c.id.casefold().startswith(typed)]
        return CompleteResult(
            completion=Completion(
                values=values[:COMPLETIONS], total=len(values), has_more=len(values) > COMPLETIONS
            )
        )

    # -- logging ----------------------------------------------------------------------------

    async def _set_level(
        self, ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        key = id(ctx.session._connection)
        self._levels[key] = params.level
        self._widen_loggers()
        logger.info("this client now receives server log messages at %s and above", params.level)
        return EmptyResult()

    def _threshold(self, key: int) -> int:
        return _LEVELS[self._levels.get(key, _DEFAULT_CLIENT_LEVEL)]

    def _widen_loggers(self) -> None:
        """Let our loggers create records down to the most detailed level a client asked for
        (stderr keeps its own level on its handler)."""
        wanted = min([_LEVELS[level] for level in self._levels.values()] + [_LEVELS[_DEFAULT_CLIENT_LEVEL]])
        for name in _FORWARDED:
            named = logging.getLogger(name)
            if named.getEffectiveLevel() > wanted:
                named.setLevel(wanted)

    async def _send_log(self, record: logging.LogRecord, message: str) -> None:
        level = _client_level(record.levelno)

        def send(key: int, session: ServerSession) -> Awaitable[None] | None:
            if record.levelno < self._threshold(key):
                return None
            return session.send_log_message(level=level, data=message, logger=record.name)

        await self._each_session(send)

    @asynccontextmanager
    async def forwarding_logs(self) -> AsyncIterator[None]:
        """While open, our log records go to every handshake-era client at its level."""
        send, receive = anyio.create_memory_object_stream[tuple[logging.LogRecord, str]](1000)
        handler = _ClientLogHandler(asyncio.get_running_loop(), threading.get_ident(), send)
        targets = [logging.getLogger(name) for name in _FORWARDED]
        for target in targets:
            target.addHandler(handler)
        self._widen_loggers()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._drain, receive)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()
        finally:
            for target in targets:
                target.removeHandler(handler)

    async def _drain(self, receive: MemoryObjectReceiveStream[tuple[logging.LogRecord, str]]) -> None:
        async with receive:
            async for record, message in receive:
                await self._send_log(record, message)


def _client_level(levelno: int) -> LoggingLevel:
    chosen: LoggingLevel = "debug"
    for name, number in _LEVELS.items():
        if levelno >= number:
            chosen = name  # type: ignore[assignment]
    return chosen


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(cursor))
    except ValueError:
        return 0


class _ClientLogHandler(logging.Handler):
    """Queues records for the clients from any thread (the model download logs from a worker
    thread); never blocks the code that logs, and drops records when the clients fall 1000
    behind."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        loop_thread: int,
        send: MemoryObjectSendStream[tuple[logging.LogRecord, str]],
    ) -> None:
        super().__init__(logging.DEBUG)
        self._loop = loop
        self._loop_thread = loop_thread
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            item = (record, self.format(record))
            if threading.get_ident() == self._loop_thread:
                self._put(item)
            else:
                self._loop.call_soon_threadsafe(self._put, item)
        except RuntimeError:  # the loop has closed
            pass
        except Exception:
            self.handleError(record)

    def _put(self, item: tuple[logging.LogRecord, str]) -> None:
        with suppress(anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(item)
