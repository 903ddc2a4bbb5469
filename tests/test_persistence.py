"""What a client stores survives a restart of the server on the same data folder."""

from __future__ import annotations

import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio


async def test_personas_and_changes_survive_a_restart(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await call(client, "persona_create", name="Nova", interests=["stars"])
        await call(client, "persona_update", persona_id="nova", changes={"talkativeness": 0.9})
        await call(client, "persona_delete", persona_id="kira")
    async with Client(build_server(settings)) as client:
        nova = await call(client, "persona_get", persona_id="nova")
        assert (nova["version"], nova["talkativeness"], nova["interests"]) == (2, 0.9, ["stars"])
        listing = await call(client, "persona_list", include_archived=True)
        assert {p["id"]: p["archived"] for p in listing["personas"]} == {
            "aria": False,
            "kira": True,
            "nova": False,
        }


async def test_shipped_personas_are_seeded_once_so_a_purge_sticks(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await call(client, "persona_delete", persona_id="aria", purge=True)
    async with Client(build_server(settings)) as client:
        assert "No persona_id 'aria'" in await call_error(client, "persona_get", persona_id="aria")
        assert [p["id"] for p in (await call(client, "persona_list"))["personas"]] == ["kira"]


async def test_seeding_can_be_turned_off(settings: Settings) -> None:
    async with Client(build_server(settings.model_copy(update={"seed_personas": False}))) as client:
        assert (await call(client, "persona_list"))["total_count"] == 0
        assert "No personas exist yet" in await call_error(client, "persona_get", persona_id="aria")
