"""Streamable HTTP at /mcp: loopback by default (another address needs a token, or an explicit
opt-out), Host/Origin validation against DNS rebinding, principals' bearer tokens and OAuth
access tokens (auth.py), size limits on request heads (connections.py) and bodies, a per-client rate limit
on tool calls (server.py) and on open connections, and timeouts: request heads and bodies that
trickle in (slowloris), idle keep-alive connections, idle MCP sessions, and a cap on open sessions."""

from __future__ import annotations

import contextlib
import ipaddress
import logging

import anyio
import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.access.repository import has_principals
from core.config import ConfigError, Settings
from persona_mcp.auth import AuthMiddleware, send_response
from persona_mcp.connections import guarded_protocol
from persona_mcp.server import PersonaServer
from persona_mcp.ui import ConsoleLogin, with_console

try:
    import resource
except ImportError:  # Windows: no file descriptor limit to mind
    resource = None  # type: ignore[assignment]

__all__ = [
    "BodyLimitMiddleware",
    "build_http_app",
    "serve_http",
    "transport_security",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_BINDS = ("0.0.0.0", "::", "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_patterns(host: str) -> list[str]:
    # "host" allows any port; "host:port" only that one. IPv6 literals need brackets in headers.
    if ":" in host and not host.startswith("[") and host.count(":") > 1:
        host = f"[{host}]"
    return [host] if host.rsplit("]", 1)[-1].count(":") == 1 else [host, f"{host}:*"]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Which Host and Origin headers to accept: loopback names always, the bound address when it
    is a specific one, and whatever PERSONA_MCP_ALLOWED_HOSTS / _ORIGINS add."""
    hosts = [f"{name}:*" for name in _LOOPBACK_HOSTS] + list(_LOOPBACK_HOSTS)
    origins = [f"http://{name}:*" for name in _LOOPBACK_HOSTS]
    bound = settings.http_host
    if bound not in _WILDCARD_BINDS and not _is_loopback(bound):
        hosts += _host_patterns(bound)
        origins += [f"http://{pattern}" for pattern in _host_patterns(bound) if pattern.endswith(":*")]
    for extra in settings.allowed_hosts:
        hosts += _host_patterns(extra)
    origins += list(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class BodyLimitMiddleware:
    """Read each request body in full before the app sees it, within limits: 408 when it does not
    arrive within `seconds` (a slow or stalled client would otherwise hold a connection and a
    task for as long as it likes), 413 as soon as it passes `max_bytes`."""

    def __init__(self, app: ASGIApp, seconds: float, max_bytes: int) -> None:
        self.app = app
        self.seconds = seconds
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        with anyio.move_on_after(self.seconds) as waited:
            while True:
                message = await receive()
                messages.append(message)
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    body = b'{"error": "too_large", "message": "The request body is larger than allowed."}'
                    await send_response(send, 413, body)
                    return
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        if waited.cancelled_caught:
            body = b'{"error": "request_timeout", "message": "The request body did not arrive in time."}'
            await send_response(send, 408, body)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def build_http_app(server: PersonaServer, settings: Settings, login: ConsoleLogin | None = None) -> ASGIApp:
    """The ASGI app serving MCP at /mcp with every check above applied, and the console at /ui/
    (`login`: the one-time codes of `persona-mcp console`)."""
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(settings),
        max_request_body_size=settings.max_request_bytes,
        session_idle_timeout=60 * settings.http_session_idle_minutes,
        max_sessions=settings.http_max_sessions,
        host=settings.http_host,
    )
    app = BodyLimitMiddleware(app, settings.http_timeout_seconds, settings.max_request_bytes)
    public = not _is_loopback(settings.http_host)
    configured = settings.token is not None or settings.oauth_issuer is not None
    if (
        public
        and not configured
        and not has_principals(
            settings.database_path,
            settings.database_url.get_secret_value() if settings.database_url else None,
        )
    ):
        if not settings.allow_unauthenticated:
            raise ConfigError(
                f"Refusing to serve {settings.http_host!r} without a token: anyone who can reach that "
                "address could read and change every persona. Add a token (persona-mcp token add NAME), "
                "set PERSONA_MCP_TOKEN or PERSONA_MCP_OAUTH_ISSUER, bind 127.0.0.1, or pass "
                "--allow-unauthenticated (PERSONA_MCP_ALLOW_UNAUTHENTICATED=1) if something in front "
                "of the server already authenticates."
            )
        logger.warning(
            "serving %s with no tokens (allowed by PERSONA_MCP_ALLOW_UNAUTHENTICATED): anyone "
            "who can reach this address can use the server",
            settings.http_host,
        )
    guarded = AuthMiddleware(
        app, settings, lambda: server.core, always=public and not settings.allow_unauthenticated
    )
    return with_console(guarded, login)


# asyncio accepts up to the listen backlog per loop pass, and a connection reaches the protocol
# (which serves or refuses it) two passes later: up to three backlogs of accepted connections can
# hold a file descriptor each before any of them is refused.
_BACKLOG = 100
_ACCEPTS_IN_FLIGHT = 3
_FD_RESERVE = 64  # descriptors kept for the database, the index, the model and the listeners


def _connection_limits(settings: Settings) -> tuple[int, int]:
    """(connections one address may hold, listen backlog): the setting and asyncio's default,
    within what the process's file descriptor limit allows (raised to its hard limit first), so
    one address can never exhaust it."""
    if resource is None:
        return settings.http_max_connections_per_client, _BACKLOG
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        target = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
            soft = max(soft, target)
    cap = settings.http_max_connections_per_client
    if soft == resource.RLIM_INFINITY:
        return cap, _BACKLOG
    backlog = max(8, min(_BACKLOG, soft // 16))
    room = max(8, (soft - _FD_RESERVE - _ACCEPTS_IN_FLIGHT * backlog) // 2)
    if cap and cap > room:
        logger.warning(
            "PERSONA_MCP_HTTP_MAX_CONNECTIONS_PER_CLIENT=%d lowered to %d: the process may open %d files",
            cap,
            room,
            soft,
        )
        cap = room
    return cap, backlog


async def serve_http(server: PersonaServer, settings: Settings, login: ConsoleLogin | None = None) -> None:
    """Serve until interrupted."""
    cap, backlog = _connection_limits(settings)
    config = uvicorn.Config(
        build_http_app(server, settings, login),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_keep_alive=max(1, round(settings.http_timeout_seconds)),
        timeout_graceful_shutdown=10,
        http=guarded_protocol(settings.http_timeout_seconds, cap),
        backlog=backlog,
        log_config=None,  # uvicorn's loggers go through ours, and so through the redacting filter
        lifespan="on",
    )
    logger.info("persona-mcp listening on http://%s:%d%s", settings.http_host, settings.http_port, MCP_PATH)
    await uvicorn.Server(config).serve()
