"""The console's two doors without a browser: the MCP App resource and the tools that name it,
and the web files at /ui with their security headers and one-time login codes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from mcp import Client

from core.config import Settings
from persona_mcp.ui import APP_MIME, CONSOLE_URI, ConsoleLogin, app_html
from tests.processes import http_server

pytestmark = pytest.mark.anyio

SHOWN_BY = {"persona_get", "memory_search", "relationship_list", "emotional_history"}


async def test_the_console_is_an_mcp_app_the_right_tools_open(client: Client, mode: str) -> None:
    if mode == "auto":  # the protocol version whose capabilities carry extensions (SEP-2133)
        # The MCP Apps extension (the SDK's) is advertised, so a host knows to look for ui:// views.
        capabilities = client.server_capabilities
        assert capabilities is not None
        assert "io.modelcontextprotocol/ui" in (capabilities.extensions or {})
    listed = await client.list_resources()
    console = [r for r in listed.resources if str(r.uri) == CONSOLE_URI]
    assert len(console) == 1
    assert console[0].mime_type == APP_MIME
    read = await client.read_resource(CONSOLE_URI)
    page = read.contents[0]
    assert page.mime_type == APP_MIME
    html = page.text  # type: ignore[union-attr]
    assert '<meta name="persona-console" content="app">' in html
    # One document: no file it would have to fetch, and the modules joined without imports.
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", html)
    assert "\nimport " not in html
    assert "class HostBridge" in html
    assert page.meta is not None
    assert page.meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    opening = {
        name
        for name, tool in tools.items()
        if (tool.meta or {}).get("ui", {}).get("resourceUri") == CONSOLE_URI
    }
    assert opening == SHOWN_BY
    # A host without MCP Apps still gets the text and the structured result.
    result = await client.call_tool("persona_get", {"persona_id": "aria"})
    assert (result.structured_content or {})["id"] == "aria"


def test_the_app_page_holds_every_module_once() -> None:
    html = app_html()
    for name in (
        "personasView",
        "memoriesView",
        "relationshipsView",
        "moodView",
        "conversationView",
        "maintenanceView",
    ):
        assert html.count(f"async function {name}(") == 1


def test_a_login_code_works_once() -> None:
    login = ConsoleLogin("the-token")
    code = login.link_code()
    assert login.redeem("guess") is None
    assert login.redeem(code) == "the-token"
    assert login.redeem(code) is None


@pytest.mark.slow
def test_the_web_console_is_served_with_a_strict_policy(tmp_path: Path) -> None:
    with http_server(tmp_path / "data", PERSONA_MCP_TOKEN="s3cret-token-for-tests") as server:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, follow_redirects=False) as http:
            moved = http.get("/ui")
            assert moved.status_code == 308
            assert moved.headers["location"] == "/ui/"
            page = http.get("/ui/")  # no token: the files hold no data
            assert page.status_code == 200
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "default-src 'none'" in policy
            assert "frame-ancestors 'none'" in policy
            assert "unsafe-inline" not in policy
            assert page.headers["x-content-type-options"] == "nosniff"
            assert "<script>" not in page.text  # no inline script: modules come as files
            script = http.get("/ui/js/main.js")
            assert script.headers["content-type"].startswith("text/javascript")
            head = http.head("/ui/js/main.js")  # the GET's headers, one length, no body
            assert head.headers["content-length"] == str(len(script.content))
            assert head.content == b""
            assert http.get("/ui/console.css").status_code == 200
            for missing in ("/ui/../pyproject.toml", "/ui/js/../../persona_mcp/ui.py", "/ui/nope.js"):
                assert http.get(missing).status_code in (401, 404)  # never a file from outside
            # `serve` issues no login codes: only `persona-mcp console` does.
            assert http.post("/ui/login", json={"code": "anything"}).status_code == 403
            # The data itself still needs the token.
            assert http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 401


def test_the_console_settings_keep_to_loopback_with_every_tool(settings: Settings) -> None:
    from argparse import Namespace

    from persona_mcp.console_cli import console_settings

    chosen = settings.model_copy(update={"http_host": "0.0.0.0", "toolsets": ("chat",)})
    console, login, link = console_settings(chosen, Namespace(port=8123, no_browser=True))
    assert console.http_host == "127.0.0.1"
    assert console.toolsets == ("all",)
    assert console.token is not None
    assert console.token.get_secret_value() == login.token
    code = link.rsplit("#login=", 1)[1]
    assert link.startswith("http://127.0.0.1:8123/ui/#login=")
    assert login.redeem(code) == login.token
