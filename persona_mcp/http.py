"""Streamable HTTP at /mcp: loopback by default, Host/Origin validation against DNS rebinding,
an optional bearer token, and a request size limit."""

from __future__ import annotations

import hmac
import ipaddress
import logging

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from core.config import Settings
from persona_mcp.server import PersonaServer

__all__ = ["BearerTokenMiddleware", "build_http_app", "serve_http", "transport_security"]

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


class BearerTokenMiddleware:
    """Refuse HTTP requests without `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = b'{"error": "unauthorized", "message": "Send Authorization: Bearer <PERSONA_MCP_TOKEN>."}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="persona-mcp"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def build_http_app(server: PersonaServer, settings: Settings) -> ASGIApp:
    """The ASGI app serving MCP at /mcp with every check above applied."""
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(settings),
        max_request_body_size=settings.max_request_bytes,
        host=settings.http_host,
    )
    if settings.token is not None:
        app = BearerTokenMiddleware(app, settings.token.get_secret_value())
    elif not _is_loopback(settings.http_host):
        logger.warning(
            "serving on %s without PERSONA_MCP_TOKEN: anyone who can reach this address can use the server",
            settings.http_host,
        )
    return app


async def serve_http(server: PersonaServer, settings: Settings) -> None:
    """Serve until interrupted."""
    config = uvicorn.Config(
        build_http_app(server, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_keep_alive=30,
        lifespan="on",
    )
    logger.info("persona-mcp listening on http://%s:%d%s", settings.http_host, settings.http_port, MCP_PATH)
    await uvicorn.Server(config).serve()
