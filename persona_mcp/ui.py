"""The persona console, through two doors: an MCP App (the `ui://persona-mcp/console` resource a
host renders beside a tool's result, talking to the server through the host's postMessage bridge)
and a web page at /ui of the HTTP transport (calling the same /mcp endpoint, so tokens and access
rules apply unchanged). One set of files in persona_mcp/console: plain ES modules, no build step,
no network fetches. The web page is served as files under a strict Content-Security-Policy; the
App resource is the same modules joined into one document, as a host loads a single page."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

import orjson
from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp
from starlette.types import ASGIApp, Receive, Scope, Send

from persona_mcp.auth import send_response

__all__ = [
    "APP_MIME",
    "CONSOLE_TOOLS",
    "CONSOLE_URI",
    "ConsoleLogin",
    "app_html",
    "console_app",
    "with_console",
]

CONSOLE_URI = "ui://persona-mcp/console"
APP_MIME = APP_MIME_TYPE
# Tools whose results the console can show: a host that renders MCP Apps opens it beside them.
CONSOLE_TOOLS = frozenset(
    {("persona", "get"), ("memory", "search"), ("relationship", "list"), ("emotional", "history")}
)
# In the order a module needs what it imports.
_MODULES = (
    "js/dom.js",
    "js/mcp.js",
    "js/views/personas.js",
    "js/views/memories.js",
    "js/views/social.js",
    "js/main.js",
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
_FILES = ("index.html", "console.css", *_MODULES)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]
_IMPORT = re.compile(r"^import .*?;\n", re.MULTILINE)
_LOGIN_SECONDS = 600.0


def _asset(name: str) -> str:
    return (files("persona_mcp") / "console" / name).read_text(encoding="utf-8")


@cache
def app_html() -> str:
    """The console as one document for a host: the stylesheet and the modules inline (their
    imports dropped, as they now share one scope), marked so it talks to the host."""
    script = "\n".join(_IMPORT.sub("", _asset(name)).replace("\nexport ", "\n") for name in _MODULES)
    page = _asset("index.html")
    page = page.replace(
        '<link rel="stylesheet" href="console.css">', f"<style>\n{_asset('console.css')}</style>"
    )
    page = page.replace(
        '<script type="module" src="js/main.js"></script>',
        f'<meta name="persona-console" content="app">\n<script type="module">\n{script}</script>',
    )
    return page


def console_app() -> Apps:
    """The MCP Apps extension (the SDK's): the console as a `ui://` resource, and the extension
    advertised in the server's capabilities. The tools that open it carry its URI in
    `_meta.ui.resourceUri` (server.build_server)."""
    apps = Apps()
    apps.add_html_resource(
        CONSOLE_URI,
        app_html(),
        name="console",
        title="Persona console",
        description="Browse and curate personas, memories, relationships and mood (an MCP App).",
        csp=ResourceCsp(connect_domains=[], resource_domains=[]),  # it fetches nothing
        prefers_border=True,
    )
    return apps


@dataclass
class ConsoleLogin:
    """One-time login links for `persona-mcp console`: a code, good once and for ten minutes,
    buys the page the session's token."""

    token: str
    codes: dict[str, float] = field(default_factory=dict)

    def link_code(self) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = time.monotonic() + _LOGIN_SECONDS
        return code

    def redeem(self, code: str) -> str | None:
        expires = self.codes.pop(code, None)
        return self.token if expires is not None and time.monotonic() < expires else None


async def _body(receive: Receive, limit: int = 4096) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b""
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def with_console(app: ASGIApp, login: ConsoleLogin | None) -> ASGIApp:
    """`app` with the console's files at /ui/ (no token needed: they hold no data) and, for
    `persona-mcp console`, /ui/login to redeem a one-time code."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/ui" or path.startswith("/ui/")):
            await app(scope, receive, send)
            return
        name = path.removeprefix("/ui").removeprefix("/") or "index.html"
        if path == "/ui":
            await send_response(send, 308, b"", [(b"location", b"/ui/"), *_HEADERS], b"text/plain")
        elif name == "login" and scope["method"] == "POST":
            try:
                code = orjson.loads(await _body(receive)).get("code", "")
            except (orjson.JSONDecodeError, AttributeError):
                code = ""
            token = login.redeem(str(code)) if login is not None else None
            if token is None:
                refusal = {"error": "This login link was used already, or has expired."}
                await send_response(send, 403, orjson.dumps(refusal), _HEADERS)
            else:
                await send_response(send, 200, orjson.dumps({"token": token}), _HEADERS)
        elif name in _FILES and scope["method"] in ("GET", "HEAD"):
            body = _asset(name).encode()
            kind = _TYPES[name[name.rindex(".") :]].encode()
            if scope["method"] == "HEAD":  # the headers of the GET, without its body
                await send_response(send, 200, b"", _HEADERS, kind, length=len(body))
            else:
                await send_response(send, 200, body, _HEADERS, kind)
        else:
            await send_response(send, 404, b"Not found", _HEADERS, b"text/plain")

    return serve
