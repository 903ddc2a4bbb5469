"""Who an HTTP request acts for: persona-mcp tokens (`persona-mcp token add`), the single
PERSONA_MCP_TOKEN (the local owner), and OAuth access tokens from a configured issuer (JWTs checked
against its keys, issuer, this server's resource URL as audience, and expiry).

`AuthMiddleware` runs before the MCP app: a request with a token it accepts goes on as that
principal (the SDK's `scope["user"]`, which also binds a handshake-era session to the credential
that opened it); one without, or with a token it refuses, gets 401 with `WWW-Authenticate` (and
the protected-resource metadata URL when OAuth is on) whenever any credential is configured. With
none configured (a loopback server, or an operator's own proxy in front), requests act as the local
owner, as before principals existed. Tokens are looked up on every request, so `token revoke`
takes effect at once. `principal_middleware` names the principal for each MCP request, so the core
checks access against it (core/access)."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import anyio
import httpx
import orjson
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from core.access import OWNER, Principal, acting, acting_as
from core.app import PersonaCore
from core.config import Settings

__all__ = ["AuthMiddleware", "OAuthVerifier", "principal_middleware", "resource_url"]

logger = logging.getLogger(__name__)

_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
_LEEWAY_SECONDS = 5
_REFETCH_SECONDS = 30.0  # a token naming a key not seen yet refetches the issuer's keys at most this often
_FETCH_TIMEOUT = 10.0


def resource_url(settings: Settings) -> str:
    """This server's resource identifier: the audience OAuth tokens must be issued for."""
    return settings.oauth_audience or f"http://{settings.http_host}:{settings.http_port}/mcp"


def _user(
    principal: Principal, token: str, subject: str | None = None, issuer: str | None = None
) -> AuthenticatedUser:
    """The SDK's authenticated user for a principal: `client_id` is the principal's name."""
    claims: dict[str, Any] = {
        "admin": principal.admin,
        "kind": principal.kind,
        "sees_shipped": principal.sees_shipped,
    }
    if issuer is not None:
        claims["iss"] = issuer
    access = AccessToken(token=token, client_id=principal.name, scopes=[], subject=subject, claims=claims)
    return AuthenticatedUser(access)


def principal_of(user: object) -> Principal | None:
    """The principal an authenticated request acts for (None: the request carried no token)."""
    if not isinstance(user, AuthenticatedUser):
        return None
    access = user.access_token
    claims = access.claims or {}
    kind = claims.get("kind", "token")
    return Principal(
        access.client_id,
        admin=bool(claims.get("admin")),
        kind=kind if kind in ("local", "token", "oauth") else "token",
        sees_shipped=bool(claims.get("sees_shipped", True)),
    )


class OAuthVerifier:
    """Checks JWT access tokens from one issuer: signature (its JWKS, fetched and cached), issuer,
    audience, expiry. Every refusal is logged with the reason, never with the token."""

    def __init__(self, issuer: str, audience: str, jwks_url: str | None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._lock = anyio.Lock()

    async def _discover(self, client: httpx.AsyncClient) -> str:
        base = self.issuer.rstrip("/")
        for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            response = await client.get(base + path)
            if response.status_code == 200 and isinstance(response.json().get("jwks_uri"), str):
                return str(response.json()["jwks_uri"])
        raise ValueError(f"{self.issuer} publishes no jwks_uri; set PERSONA_MCP_OAUTH_JWKS_URL")

    async def _refresh(self) -> None:
        import jwt  # PyJWT (and cryptography) load only when OAuth is on: ~90 ms off every start

        async with httpx.AsyncClient(timeout=_FETCH_TIMEOUT) as client:
            if self._jwks_url is None:
                self._jwks_url = await self._discover(client)
            response = await client.get(self._jwks_url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        self._keys = {key.key_id: key for key in keys if key.key_id}
        self._fetched = time.monotonic()

    async def _key(self, kid: str) -> Any:
        async with self._lock:  # a rotated key appears within _REFETCH_SECONDS; junk kids cannot hammer
            if kid not in self._keys and (
                not self._fetched or time.monotonic() - self._fetched > _REFETCH_SECONDS
            ):
                await self._refresh()
        return self._keys.get(kid)

    async def subject(self, token: str) -> tuple[str, dict[str, Any]] | None:
        """The token's subject and claims when every check passes, else None."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None  # not a JWT at all (say, a mistyped persona-mcp token)
        try:
            key = await self._key(str(header.get("kid", "")))
            if key is None:
                logger.info("refused an OAuth token: unknown key id %r", header.get("kid"))
                return None
            claims = jwt.decode(
                token,
                key=key,
                algorithms=_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("refused an OAuth token: %s", exc)
            return None
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("could not fetch the OAuth issuer's keys: %s", exc)
            return None
        return str(claims["sub"]), claims


class AuthMiddleware:
    """Names the principal of each HTTP request, or answers 401 (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        core: Callable[[], PersonaCore | None],
        always: bool = False,
    ) -> None:
        self._core = core
        self._always = always  # a token is needed even when none is configured (a public address)
        self._owner_token = settings.token.get_secret_value().encode() if settings.token else None
        self._oauth = (
            OAuthVerifier(settings.oauth_issuer, resource_url(settings), settings.oauth_jwks_url)
            if settings.oauth_issuer
            else None
        )
        self._metadata_url = str(build_resource_metadata_url(AnyHttpUrl(resource_url(settings))))
        routes: list[Route] = []
        if settings.oauth_issuer:
            # RFC 9728 metadata at the resource's well-known path and, for clients that look there
            # first, the bare one. Validated from strings, so the issuer stays exactly as configured
            # (issuer identifiers compare as exact strings; no slash is added).
            metadata = ProtectedResourceMetadata.model_validate(
                {
                    "resource": resource_url(settings),
                    "authorization_servers": [settings.oauth_issuer],
                    "resource_name": "persona-mcp",
                }
            )
            handler = ProtectedResourceMetadataHandler(metadata).handle
            for path in {urlparse(self._metadata_url).path, "/.well-known/oauth-protected-resource"}:
                routes.append(Route(path, handler, methods=["GET"]))
        self._paths = {route.path for route in routes}
        self._metadata: ASGIApp = Starlette(routes=routes)
        self.app = app

    async def _authenticate(self, token: str) -> AuthenticatedUser | None:
        """The SDK's user for the principal holding `token` (`principal_of` reads it back), or None."""
        if self._owner_token is not None and hmac.compare_digest(token.encode(), self._owner_token):
            return _user(OWNER, token)
        core = self._core()
        if core is not None:
            principal = await core.access.authenticate(token)
            if principal is not None:
                return _user(principal, token)
        if self._oauth is not None and core is not None:
            found = await self._oauth.subject(token)
            if found is not None:
                subject, _ = found
                principal = await core.access.for_subject(subject)
                return _user(principal, token, subject, self._oauth.issuer)
        return None

    async def _required(self) -> bool:
        if self._always or self._owner_token is not None or self._oauth is not None:
            return True
        core = self._core()
        return core is not None and await core.access.any_token()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self._paths:
            await self._metadata(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.strip().partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else ""
        if token:
            user = await self._authenticate(token)
            principal = principal_of(user)
            if user is None or principal is None:
                logger.info("refused a request from %s: unknown or revoked token", _client(scope))
                await self._refuse(
                    send,
                    "invalid_token",
                    "The token is unknown, revoked or expired: send one from persona-mcp token add, "
                    "or PERSONA_MCP_TOKEN.",
                )
                return
            scope["user"], scope["auth"] = user, AuthCredentials([])
            with acting_as(principal):
                await self.app(scope, receive, send)
            return
        if await self._required():
            logger.info("refused a request from %s: no token", _client(scope))
            await self._refuse(
                send,
                "invalid_request",
                "Send Authorization: Bearer <token> (from persona-mcp token add, or PERSONA_MCP_TOKEN).",
            )
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, error: str, description: str) -> None:
        challenge = f'Bearer realm="persona-mcp", error="{error}", error_description="{description}"'
        if self._oauth is not None:
            challenge += f', resource_metadata="{self._metadata_url}"'
        body = orjson.dumps({"error": error, "error_description": description})
        await send_response(send, 401, body, [(b"www-authenticate", challenge.encode())])


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
    length: int | None = None,
) -> None:
    """Answer an HTTP request below the app (a refusal of the auth or the limits, the console's
    files). `length`: the Content-Length to state when it is not the body's (a HEAD answer)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body) if length is None else length).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "an unknown address"


async def principal_middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Run each MCP request as its principal: the one its HTTP request authenticated as, the local
    owner for an HTTP request that needed no token, and otherwise (stdio, in-process clients) the
    principal the server was started under (the local owner unless a caller chose another)."""
    request = ctx.request
    principal = (
        (principal_of(request.scope.get("user")) or OWNER) if isinstance(request, Request) else acting()
    )
    with acting_as(principal):
        return await call_next(ctx)
