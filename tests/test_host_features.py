"""What hosts use beyond tools (persona_mcp/host.py): personas as resources that stay current,
completions, logging at the client's level, icons, and capabilities that match what is served,
on the handshake protocol and on 2026-07-28."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import LoggingMessageNotificationParams, PromptReference, ResourceTemplateReference

from core.app import PersonaCore
from core.config import Settings
from persona_mcp import build_server
from persona_mcp.host import WATCH_SECONDS
from tests.conftest import call

pytestmark = pytest.mark.anyio

AVATAR = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n not really").decode()


async def _until(check: Callable[[], bool], seconds: float) -> None:
    with anyio.fail_after(seconds):
        while not check():  # noqa: ASYNC110  (notifications arrive on the client's own task)
            await anyio.sleep(0.05)


def _ids(resources: Any) -> list[str]:
    return [r.uri for r in resources if str(r.uri).startswith("persona://")]


async def test_resources_list_every_persona_with_title_description_and_icon(client: Client) -> None:
    personas = (await call(client, "persona_list"))["personas"]
    await call(
        client,
        "persona_create",
        name="Maren",
        description="A lighthouse keeper.",
        assets=[{"type": "icon", "uri": AVATAR, "name": "main", "ext": "png"}],
    )
    listed = {str(r.uri): r for r in (await client.list_resources()).resources}
    expected = {f"persona://{p['id']}" for p in personas} | {"persona://maren"}
    assert set(listed) == expected | {"ui://persona-mcp/console"}  # and the console, an MCP App
    maren = listed["persona://maren"]
    assert (maren.title, maren.description, maren.mime_type) == (
        "Maren",
        "A lighthouse keeper.",
        "application/json",
    )
    assert maren.icons is not None
    assert maren.icons[0].src == AVATAR  # the card's avatar
    assert maren.icons[0].mime_type == "image/png"
    aria = listed["persona://aria"]
    assert aria.icons is not None
    assert aria.icons[0].src.startswith("data:image/svg+xml;base64,")  # a generated badge
    assert b">A</text>" in base64.b64decode(aria.icons[0].src.split(",", 1)[1])
    read = await client.read_resource("persona://maren")
    assert '"name": "Maren"' in read.contents[0].text  # type: ignore[union-attr]
    await call(client, "persona_delete", persona_id="maren")
    assert "persona://maren" not in _ids((await client.list_resources()).resources)


async def test_many_personas_come_in_pages(client: Client) -> None:
    for index in range(105):
        await call(client, "persona_create", name=f"Extra {index:03d}")
    first = await client.list_resources()
    assert len(first.resources) == 100
    assert first.next_cursor is not None
    second = await client.list_resources(cursor=first.next_cursor)
    assert second.next_cursor is None
    assert str(first.resources[0].uri) == "ui://persona-mcp/console"  # the console first
    together = _ids(first.resources) + _ids(second.resources)
    assert len(first.resources) + len(second.resources) == 1 + len(together)  # then every persona once
    assert len(together) == len(set(together)) == (await call(client, "persona_list"))["total_count"]


async def test_a_persona_change_is_announced_to_every_handshake_client(settings: Settings) -> None:
    """Two clients of one server: a change one makes (and one made behind the server's back,
    as another process would) reaches the other as notifications/resources/list_changed."""
    heard: list[str] = []

    async def on_message(message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method:
            heard.append(method)

    server = build_server(settings)
    async with Client(server, mode="legacy", message_handler=on_message) as listener:
        caps = listener.server_capabilities
        assert caps.resources is not None
        assert (caps.resources.list_changed, caps.resources.subscribe) == (True, False)
        assert caps.tools is not None
        assert not caps.tools.list_changed
        assert caps.completions is not None
        assert caps.logging is not None
        await listener.list_resources()  # the server knows this connection from its first request
        async with Client(server, mode="legacy") as other:
            await call(other, "persona_create", name="Ilse")
        await _until(lambda: "notifications/resources/list_changed" in heard, WATCH_SECONDS * 4)
        heard.clear()
        elsewhere = await PersonaCore.open(settings)  # as another process would
        try:
            await elsewhere.personas.update("ilse", {"description": "Changed elsewhere."})
        finally:
            await elsewhere.close()
        await _until(lambda: "notifications/resources/list_changed" in heard, WATCH_SECONDS * 4)
        resources = {str(r.uri): r for r in (await listener.list_resources()).resources}
        assert resources["persona://ilse"].description == "Changed elsewhere."


async def test_modern_clients_hear_of_changes_through_listen(settings: Settings) -> None:
    server = build_server(settings)
    async with Client(server, mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        caps = client.server_capabilities
        assert caps.resources is not None
        assert (caps.resources.list_changed, caps.resources.subscribe) == (True, False)
        assert caps.logging is None  # logging/setLevel is not part of this protocol
        async with client.listen(resources_list_changed=True) as events:
            await call(client, "persona_create", name="Tove")
            with anyio.fail_after(WATCH_SECONDS * 4):
                async for _ in events:
                    break


async def test_completions_suggest_persona_and_conversation_ids(client: Client) -> None:
    await call(client, "persona_create", name="Kestrel")
    started = await call(client, "conversation_start", persona_id="kestrel", title="a walk")
    roleplay = PromptReference(name="roleplay")
    found = (await client.complete(roleplay, {"name": "persona_id", "value": "k"})).completion
    assert "kestrel" in found.values
    assert "kira" in found.values
    assert all(value.startswith("k") for value in found.values)
    assert found.total == len(found.values)
    card = ResourceTemplateReference(uri="persona://{persona_id}")
    assert "aria" in (await client.complete(card, {"name": "persona_id", "value": "AR"})).completion.values
    conversations = await client.complete(
        roleplay, {"name": "conversation_id", "value": ""}, context_arguments={"persona_id": "kestrel"}
    )
    assert conversations.completion.values == [started["id"]]
    none = await client.complete(roleplay, {"name": "persona_id", "value": "zzz"})
    assert none.completion.values == []


async def test_roleplay_continues_a_conversation(client: Client) -> None:
    started = await call(client, "conversation_start", persona_id="aria", title="tea")
    prompt = await client.get_prompt(
        "roleplay", {"persona_id": "aria", "conversation_id": started["id"], "user_name": "Sam"}
    )
    assert prompt.messages[0].role == "user"
    assert len(prompt.messages) == 1  # nothing said yet, and no first message instead


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_log_messages_reach_a_client_at_its_level(settings: Settings) -> None:
    """The server logs (at info) that a client changed its level: a client at info hears it, a
    client at error does not, and only our own loggers are forwarded."""
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    def heard(level: str) -> bool:
        return any(f"now receives server log messages at {level}" in str(p.data) for p in received)

    async with Client(build_server(settings), mode="legacy", logging_callback=on_log) as client:
        caps = client.server_capabilities
        assert caps.logging is not None
        await client.set_logging_level("info")
        await _until(lambda: heard("info"), 5)
        assert next(p for p in received if "at info" in str(p.data)).level == "info"
        await client.set_logging_level("error")
        await call(client, "memory_store", content="Something to do in between.")
        await anyio.sleep(0.5)
        assert not heard("error")  # an info record, below this client's level
        await client.set_logging_level("debug")
        await _until(lambda: heard("debug"), 5)
        assert all(p.logger and p.logger.split(".")[0] in ("core", "persona_mcp") for p in received)


async def test_the_server_has_an_icon_and_a_description(client: Client, data_dir: Path) -> None:
    info = client.server_info
    assert info is not None
    assert info.icons
    assert info.icons[0].src.startswith("data:image/svg+xml;base64,")
