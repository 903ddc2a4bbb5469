"""`persona-mcp migrate`: a data folder into PostgreSQL and back, every table checked; a server on
each end then serves what the other held. On a real PostgreSQL 16 + pgvector (pgserver)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from core.config import Settings, load_settings
from persona_mcp import build_server
from persona_mcp.cli import main as cli_main
from tests.conftest import call, new_pg_database
from tests.store_rows import rows

pytest.importorskip("psycopg")
pytestmark = pytest.mark.anyio

CARD = Path(__file__).parent / "data" / "cards" / "sillytavern_v2.json"


async def _fill(settings: Settings) -> dict[str, object]:
    """A bit of everything a user makes; what the other end must show."""
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await call(client, "persona_create", name="Quill", description="A writing coach.")
        await call(client, "persona_import", content=CARD.read_text())
        notes = [
            "Sam's sister Maya lives in Lisbon and teaches piano.",
            "Sam fixed the leaking roof before the storm.",
            "The harbour festival is in the first week of June.",
        ]
        for note in notes:
            await call(client, "memory_store", content=note, persona_id="quill", importance=0.7)
        started = await call(client, "conversation_start", participants=["quill", "aria"], title="Plans")
        await call(
            client,
            "memory_store",
            content="We planned the harbour trip together.",
            persona_id="quill",
            conversation_id=started["id"],
        )
        talk = {"kind": "conversation", "quality": 0.6}
        await call(client, "relationship_update", persona_a="quill", persona_b="aria", interaction=talk)
        await call(client, "keys_set", name="openai", value="sk-test-0123456789abcdefghij")
        found = await call(client, "memory_search", query="where does Maya live", persona_id="quill")
        return {
            "personas": sorted(p["id"] for p in (await call(client, "persona_list"))["personas"]),
            "top": found["memories"][0]["memory"]["content"],
            "conversation": started["id"],
        }


async def _check(settings: Settings, made: dict[str, object]) -> None:
    async with Client(build_server(settings), raise_exceptions=True) as client:
        assert sorted(p["id"] for p in (await call(client, "persona_list"))["personas"]) == made["personas"]
        found = await call(client, "memory_search", query="where does Maya live", persona_id="quill")
        assert found["memories"][0]["memory"]["content"] == made["top"]
        status = await call(client, "conversation_status", conversation_id=made["conversation"])
        assert status["title"] == "Plans"
        assert (await call(client, "relationship_get", persona_a="quill", persona_b="aria"))["met"]
        assert [k["name"] for k in (await call(client, "keys_list"))["keys"]] == ["openai"]


def _migrate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_folder_goes_to_postgresql_and_back_with_every_table_checked(
    tmp_path: Path, pg_cluster: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERSONA_MCP_DATABASE_URL", raising=False)
    folder = tmp_path / "folder"
    made = await _fill(load_settings({}, data_dir=folder, toolsets=("all",)))
    url = new_pg_database(pg_cluster, schema=False)  # an empty database: migrate makes the schema

    code, out, err = await anyio.to_thread.run_sync(
        _migrate, ["--data-dir", str(folder), "migrate", "--to", url], capsys
    )
    assert code == 0, err
    assert "every table the same on both sides" in out
    assert "| memories | 4 |" in out
    on_pg = load_settings({}, data_dir=tmp_path / "unused", toolsets=("all",), database_url=url)
    assert rows(on_pg, "SELECT count(*) FROM memory_vectors") == [(4,)]
    await _check(on_pg, made)

    # A second migrate into the same (no longer empty) database is refused; nothing changes.
    code, out, err = await anyio.to_thread.run_sync(
        _migrate, ["--data-dir", str(folder), "migrate", "--to", url], capsys
    )
    assert code == 2
    assert "already holds data" in err
    assert rows(on_pg, "SELECT count(*) FROM memories") == [(4,)]

    back = tmp_path / "back"
    monkeypatch.setenv("PERSONA_MCP_DATABASE_URL", url)
    code, out, err = await anyio.to_thread.run_sync(_migrate, ["migrate", "--to", str(back)], capsys)
    assert code == 0, err
    assert "every table the same on both sides" in out
    monkeypatch.delenv("PERSONA_MCP_DATABASE_URL")
    await _check(load_settings({}, data_dir=back, toolsets=("all",)), made)

    # Into a folder that already has a database: refused.
    monkeypatch.setenv("PERSONA_MCP_DATABASE_URL", url)
    code, _, err = await anyio.to_thread.run_sync(_migrate, ["migrate", "--to", str(back)], capsys)
    assert code == 2
    assert "already holds a persona.db" in err


async def test_migrate_says_what_to_give_when_the_target_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERSONA_MCP_DATABASE_URL", raising=False)
    code, _, err = await anyio.to_thread.run_sync(
        _migrate, ["--data-dir", str(tmp_path / "none"), "migrate", "--to", str(tmp_path / "other")], capsys
    )
    assert code == 2
    assert "postgresql://" in err
